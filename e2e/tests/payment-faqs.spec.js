// The manual's FAQ as the candidate meets them: a blocked pop-up (1), leaving the
// cashier and coming back to the same order (2), an order the platform closed, paid
// again at once with a new one (3), and a payment whose notification was lost (4).
const { test, expect } = require('../support/fixtures');
const j = require('../support/journey');

test('a blocked pop-up is explained and the cashier offered as a direct link (FAQ 1)', async ({ page, server, reached }) => {
  // What a browser blocking pop-ups answers to window.open.
  await page.addInitScript(() => { window.open = () => null; });
  await j.firstLogin(page, server, server.candidates[1], reached);
  await j.submitPayment(page);

  const blocked = page.getByRole('alert').filter({ hasText: '支付窗口未能弹出' });
  await expect(blocked).toBeVisible();
  await expect(blocked).toContainText('点击“允许”');
  await reached('popup-blocked');
  const popup = page.waitForEvent('popup');
  await page.getByRole('link', { name: '打开支付页面' }).click();
  await j.confirmAndScan(await popup, '微信支付');
  await j.expectFeeStatus(page, '已缴费');
});

test('leaving the cashier keeps the order; once the platform closes it, one click pays with a new one (FAQ 2, 3)', async ({ page, server, platform, reached }) => {
  await j.firstLogin(page, server, server.candidates[1], reached);
  const first = await j.submitPayment(page);
  const orderNo = await j.waitingOrderNo(page);
  await first.waitForURL(/\/sandbox\/cashier\//);
  await first.close();

  // Back later: the page continues the same order, and 继续缴费 opens its cashier again.
  await page.reload();
  await j.expectFeeStatus(page, '支付中');
  expect(await j.waitingOrderNo(page)).toBe(orderNo);
  const again = page.waitForEvent('popup');
  await page.getByRole('link', { name: '继续缴费' }).click();
  const cashier = await again;
  await cashier.waitForURL(/\/sandbox\/cashier\//);

  // Thirty minutes pass: the platform closes the order, and its cashier says so.
  await platform.expire(orderNo);
  await cashier.reload();
  await expect(cashier.getByText('订单已关闭，无法支付')).toBeVisible();
  await cashier.close();
  await expect(page.getByRole('alert').filter({ hasText: '订单已关闭，无法支付' })).toBeVisible();
  await j.expectFeeStatus(page, '未缴费');
  await reached('order-closed');

  const next = page.waitForEvent('popup');
  await page.getByRole('button', { name: '提交缴费' }).click();
  await (await next).close();
  const newOrderNo = await j.waitingOrderNo(page);
  expect(newOrderNo).not.toBe(orderNo);
  await platform.pay(newOrderNo);
  await j.expectFeeStatus(page, '已缴费');
});

test('paid but the notification was lost: the page still reaches 已缴费 by asking the platform (FAQ 4)', async ({ page, server, platform }) => {
  await platform.faults({ notify_drop_rate: 1.0 });
  await j.firstLogin(page, server, server.candidates[2], async () => {});
  const cashier = await j.submitPayment(page);
  const orderNo = await j.waitingOrderNo(page);
  await cashier.close();
  await platform.pay(orderNo);

  await page.getByRole('button', { name: '重新查询' }).click();
  await j.expectFeeStatus(page, '已缴费');
  await expect(page.getByText('缴费成功')).toBeVisible();
  // Logging in again shows the same.
  await page.reload();
  await j.expectFeeStatus(page, '已缴费');
});
