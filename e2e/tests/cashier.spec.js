// ExamFee's own cashier (/cashier/{order_no}) on the in-process fakes of WeChat Pay and
// Alipay (EXAMFEE_DEMO_CHANNELS=1): 提交缴费 opens it in the new window; the candidate
// chooses a channel, 确认支付, sees that channel's QR code with a countdown, may switch
// channel and back (the same code again), pays (here through the fake's test helper, as
// the payer's phone would), sees 缴费成功, and about 5 s later the cashier closes and the
// fee page that opened it shows 已缴费 and 查看票据. Then the code running out of time.
const { test, expect } = require('../support/fixtures');
const j = require('../support/journey');

test.use({ serverEnv: { EXAMFEE_DEMO_CHANNELS: '1' } });

/** Each channel's fake, as the server mounts it under /sandbox. */
const FAKE = { 微信支付: 'wechatpay', 支付宝: 'alipay' };

/** The payer scans and pays: the fake marks the trade paid and notifies ExamFee. */
async function payAtFake(page, server, channel, orderNo) {
  const response = await page.request.post(`${server.url}/sandbox/${FAKE[channel]}/test/pay`, {
    data: { out_trade_no: orderNo },
  });
  expect(response.ok(), `${response.url()}: ${await response.text()}`).toBeTruthy();
}

/** 提交缴费 on the fee page: the cashier window and its order number. */
async function openCashier(page) {
  const cashier = await j.submitPayment(page);
  expect(cashier, 'the cashier window opened').not.toBeNull();
  await cashier.waitForURL(/\/cashier\/[^/?#]+$/);
  const orderNo = decodeURIComponent(new URL(cashier.url()).pathname.split('/').pop());
  expect(await j.waitingOrderNo(page)).toBe(orderNo);
  await expect(cashier.getByRole('heading', { name: '收银台' })).toBeVisible();
  await expect(cashier.locator('.cashier .amount')).toHaveText('¥150.00');
  const items = cashier.locator('table.cashier-items');
  await expect(items).toContainText('报名费');
  await expect(items).toContainText('¥30.00');
  await expect(items).toContainText('考试费');
  await expect(items).toContainText('¥120.00');
  const channels = cashier.getByRole('radiogroup', { name: '选择支付方式' });
  await expect(channels.getByRole('radio')).toHaveCount(2);
  await expect(channels.getByLabel('微信支付')).toBeVisible();
  await expect(channels.getByLabel('支付宝')).toBeVisible();
  return { cashier, orderNo };
}

/** 确认支付 on `channel`: its code, the instruction and a running countdown. */
async function confirmOn(cashier, channel) {
  await cashier.getByLabel(channel).check();
  await cashier.getByRole('button', { name: '确认支付' }).click();
  return shownCode(cashier, channel);
}

async function shownCode(cashier, channel) {
  await expect(cashier.getByRole('button', { name: '确认支付' })).toHaveAttribute('aria-busy', 'false');
  await expect(cashier.locator('.scan-hint')).toHaveText(`请使用${channel}扫码支付`);
  const qr = cashier.locator('.cashier-code .qr');
  await expect(qr.locator('svg')).toBeVisible();
  await expect(qr).toHaveAttribute('aria-label', `请使用${channel}扫码支付`);
  return qr.innerHTML();
}

async function expectCountingDown(cashier) {
  const timer = cashier.getByRole('timer');
  await expect(timer).toHaveText(/^\d{2}:\d{2}$/);
  const first = await timer.textContent();
  // An order is open for 30 minutes: the code's time is most of that, and it runs.
  expect(Number(first.slice(0, 2))).toBeGreaterThanOrEqual(25);
  await expect(timer).not.toHaveText(first, { timeout: 5_000 });
}

/** Paid: 缴费成功 in the cashier, which closes by itself; the fee page shows the result. */
async function expectPaidAndBack(page, cashier, reached) {
  const closed = cashier.waitForEvent('close', { timeout: 30_000 });
  await expect(cashier.getByRole('heading', { name: '缴费成功' })).toBeVisible({ timeout: 20_000 });
  await expect(cashier.getByText('秒后返回缴费页面')).toBeVisible();
  await reached('cashier-paid', cashier);
  await closed;
  await expect(page).toHaveURL(/\/fees$/);
  await j.expectFeeStatus(page, '已缴费');
  await expect(page.getByRole('status').filter({ hasText: '缴费成功' })).toBeVisible();
  for (const title of ['报名费', '考试费']) {
    await expect(j.feeRow(page, title).getByRole('link', { name: '查看票据' })).toBeVisible();
  }
  await j.feeRow(page, '报名费').getByRole('link', { name: '查看票据' }).click();
  await expect(page.getByRole('heading', { name: '电子票据' })).toBeVisible();
  await expect(page.locator('article.receipt')).toContainText('¥150.00');
}

test('paying with WeChat Pay at ExamFee\'s cashier, after switching to Alipay and back', async ({ page, server, reached }) => {
  await j.firstLogin(page, server, server.candidates[0], reached);
  const { cashier, orderNo } = await openCashier(page);
  await reached('cashier', cashier);

  const wechat = await confirmOn(cashier, '微信支付');
  await expectCountingDown(cashier);
  await reached('cashier-code', cashier);

  // Another channel gives another code; back on WeChat Pay, the same code as before.
  const alipay = await confirmOn(cashier, '支付宝');
  expect(alipay).not.toBe(wechat);
  expect(await confirmOn(cashier, '微信支付')).toBe(wechat);

  await payAtFake(page, server, '微信支付', orderNo);
  await expectPaidAndBack(page, cashier, reached);
});

test('paying with Alipay at ExamFee\'s cashier, by keyboard', async ({ page, server, reached }) => {
  await j.firstLogin(page, server, server.candidates[1], async () => {});
  const { cashier, orderNo } = await openCashier(page);

  // The channels are one radio group: arrow keys choose, Tab goes on to 确认支付.
  const wechat = cashier.getByLabel('微信支付');
  const alipay = cashier.getByLabel('支付宝');
  await expect(wechat).toBeChecked();
  await wechat.focus();
  await cashier.keyboard.press('ArrowRight');
  await expect(alipay).toBeChecked();
  await expect(alipay).toBeFocused();
  await cashier.keyboard.press('Tab');
  await expect(cashier.getByRole('button', { name: '确认支付' })).toBeFocused();
  await cashier.keyboard.press('Enter');
  const code = await shownCode(cashier, '支付宝');
  await expectCountingDown(cashier);

  // The same channel again: the same code.
  await cashier.getByRole('button', { name: '确认支付' }).click();
  expect(await shownCode(cashier, '支付宝')).toBe(code);

  await payAtFake(page, server, '支付宝', orderNo);
  await expectPaidAndBack(page, cashier, reached);
});

test('when the countdown reaches zero the code is withdrawn: 二维码失效, 订单已关闭，无法支付 (FAQ 3)', async ({ page, server }) => {
  // The browser's clock only: the page counts down to the order's expiry by it.
  await page.context().clock.install();
  await j.firstLogin(page, server, server.candidates[2], async () => {});
  const { cashier } = await openCashier(page);
  await confirmOn(cashier, '微信支付');

  await page.context().clock.fastForward('31:00');
  const state = cashier.locator('.cashier-state');
  await expect(state).toContainText('二维码失效');
  await expect(state).toContainText('订单已关闭，无法支付');
  await expect(state).toContainText('提交缴费');
  await expect(cashier.locator('.cashier-code .qr svg')).toHaveCount(0);
  await expect(cashier.getByRole('timer')).toHaveText('00:00');
  await expect(cashier.getByRole('button', { name: '确认支付' })).toBeDisabled();
  await expect(cashier.getByLabel('支付宝')).toBeDisabled();
});
