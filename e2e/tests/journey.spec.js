// The manual's journey end to end, on a desktop and on a phone: first login and the
// forced password change, details, fee list, paying in the platform's cashier window,
// the receipt and its verification, a refund approved by an operator, logging out and
// in again to the same state.
const { test, expect } = require('../support/fixtures');
const j = require('../support/journey');

for (const device of [
  { name: 'desktop', viewport: { width: 1280, height: 800 } },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
]) {
  test.describe(device.name, () => {
    test.use({ viewport: device.viewport, isMobile: !!device.isMobile, hasTouch: !!device.hasTouch });

    test('first login, payment in the cashier window, receipt, refund, logout and login again', async ({ page, server, platform, reached }) => {
      const candidate = server.candidates[0];
      await j.firstLogin(page, server, candidate, reached);

      // 个人信息: check the details, then 进入缴费.
      const details = page.locator('dl.details');
      await expect(details).toContainText(candidate.name);
      await expect(details).toContainText('138****5678');
      await expect(details).toContainText(`${candidate.idNumber.slice(0, 4)}**********${candidate.idNumber.slice(14)}`);
      await reached('profile');
      await page.getByRole('link', { name: '进入缴费' }).click();

      // 网上缴费: both fees unpaid; 提交缴费 opens the cashier in a new window.
      await expect(page.getByRole('heading', { name: '网上缴费' })).toBeVisible();
      await expect(j.feeRow(page, '报名费')).toContainText('¥30.00');
      await expect(j.feeRow(page, '考试费')).toContainText('¥120.00');
      await j.expectFeeStatus(page, '未缴费');
      await expect(page.locator('.submit-bar')).toContainText('¥150.00');
      await reached('fees-unpaid');
      const popup = page.waitForEvent('popup');
      await page.getByRole('button', { name: '提交缴费' }).click();
      const cashier = await popup;
      await j.waitingOrderNo(page);
      await reached('fees-waiting');
      await j.payAtCashier(cashier, '支付宝', reached);
      await cashier.close();

      // The page that opened the cashier sees the payment by itself.
      await j.expectFeeStatus(page, '已缴费');
      await expect(page.getByText('缴费成功')).toBeVisible();
      await reached('fees-paid');

      // 查看票据, then verify it through the public page its QR code links to.
      await j.feeRow(page, '报名费').getByRole('link', { name: '查看票据' }).click();
      await expect(page.getByRole('heading', { name: '电子票据' })).toBeVisible();
      const receipt = page.locator('article.receipt');
      await expect(receipt).toContainText('¥150.00');
      await expect(receipt).toContainText(candidate.name);
      await expect(receipt.locator('.qr svg')).toBeVisible();
      const receiptNo = (await receipt.locator('.receipt-no').textContent()).trim();
      await reached('receipt');
      await page.emulateMedia({ media: 'print' });
      await expect(page.getByRole('button', { name: '打印票据' })).toBeHidden();
      await reached('receipt-print');
      await page.emulateMedia({ media: 'screen' });
      await page.getByRole('link', { name: '查验票据' }).click();
      await expect(page).toHaveURL(new RegExp(`/verify\\?receipt_no=${receiptNo}&check_code=`));
      await expect(page.getByRole('heading', { name: '票据有效' })).toBeVisible();
      await expect(page.locator('.result')).toContainText('¥150.00');
      await reached('verify');

      // 申请退费: reason, confirmation, then the refund's status.
      await page.goto('/fees');
      await j.feeRow(page, '考试费').getByRole('link', { name: '申请退费' }).click();
      await expect(page.getByRole('heading', { name: '申请退费' })).toBeVisible();
      await page.getByRole('button', { name: '提交申请' }).click();
      await expect(page.locator('#reason-error')).toHaveText('请填写退费原因（不超过200字）');
      await page.getByLabel('退费原因').fill('因故无法参加考试');
      await page.getByRole('button', { name: '提交申请' }).click();
      const confirm = page.getByRole('alertdialog', { name: '确认申请退费？' });
      await expect(confirm).toBeVisible();
      await confirm.getByRole('button', { name: '确认退费' }).click();
      await expect(page.getByRole('heading', { name: '退费申请已提交' })).toBeVisible();
      await expect(page.locator('.refund-status')).toHaveText('待审核');
      await reached('refund');
      await page.getByRole('link', { name: '返回缴费页面' }).first().click();
      await j.expectFeeStatus(page, '退费中');

      // An operator approves it through the API; the page shows 已退费 as it happens.
      expect(await platform.approveRefunds()).toBe(1);
      await j.expectFeeStatus(page, '已退费');
      await reached('fees-refunded');

      // 退出 top right, log in again: the same state.
      await page.getByRole('button', { name: '退出' }).click();
      await expect(page).toHaveURL(/\/login\?logged_out=1$/);
      await expect(page.getByText('您已退出系统')).toBeVisible();
      await j.login(page, server, candidate.idNumber, j.NEW_PASSWORD);
      await page.getByRole('link', { name: '进入缴费' }).click();
      await j.expectFeeStatus(page, '已退费');
      await j.feeRow(page, '报名费').getByRole('link', { name: '查看票据' }).click();
      await expect(page.locator('article.receipt')).toContainText('已红冲');
    });
  });
}
