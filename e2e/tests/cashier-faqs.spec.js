// The manual's FAQ at ExamFee's own cashier (EXAMFEE_DEMO_CHANNELS=1), as they hold with
// the sandbox's: leaving the cashier and coming back to the same order and code (2), an
// order the channel closed, paid again at once with a new one (3), a payment whose
// notification was lost (4); and a channel that is down, where the other one still pays.
const { test, expect } = require('../support/fixtures');
const j = require('../support/journey');

test.use({ serverEnv: { EXAMFEE_DEMO_CHANNELS: '1' } });

/** A fake's test helper, as the payer's phone or the channel's own clock would act. */
async function atFake(page, server, fake, action, data) {
  const url = `${server.url}/sandbox/${fake}/test/${action}`;
  const response = action === 'faults'
    ? await page.request.put(url, { data })
    : await page.request.post(url, { data });
  expect(response.ok(), `${url}: ${await response.text()}`).toBeTruthy();
}

/** 提交缴费, from the profile page or (`onFeePage`) from the fee page already open. */
async function openCashier(page, onFeePage = false) {
  let cashier;
  if (onFeePage) {
    const popup = page.waitForEvent('popup');
    await page.getByRole('button', { name: '提交缴费' }).click();
    cashier = await popup;
  } else {
    cashier = await j.submitPayment(page);
  }
  expect(cashier, 'the cashier window opened').not.toBeNull();
  await cashier.waitForURL(/\/cashier\/[^/?#]+$/);
  const orderNo = decodeURIComponent(new URL(cashier.url()).pathname.split('/').pop());
  return { cashier, orderNo };
}

async function confirmOn(cashier, channel) {
  await cashier.getByLabel(channel).check();
  await cashier.getByRole('button', { name: '确认支付' }).click();
}

async function shownCode(cashier, channel) {
  await expect(cashier.locator('.scan-hint')).toHaveText(`请使用${channel}扫码支付`);
  const qr = cashier.locator('.cashier-code .qr');
  await expect(qr.locator('svg')).toBeVisible();
  return qr.innerHTML();
}

test('leaving ExamFee\'s cashier keeps the order and its code; once the channel closes it, one click pays with a new one (FAQ 2, 3)', async ({ page, server }) => {
  await j.firstLogin(page, server, server.candidates[1], async () => {});
  const { cashier, orderNo } = await openCashier(page);
  await confirmOn(cashier, '微信支付');
  const code = await shownCode(cashier, '微信支付');
  await cashier.close();

  // Back later: the same order, and 继续缴费 opens its cashier again with the same code.
  await page.reload();
  await j.expectFeeStatus(page, '支付中');
  expect(await j.waitingOrderNo(page)).toBe(orderNo);
  const again = page.waitForEvent('popup');
  await page.getByRole('link', { name: '继续缴费' }).click();
  const reopened = await again;
  await reopened.waitForURL(new RegExp(`/cashier/${orderNo}$`));
  await confirmOn(reopened, '微信支付');
  expect(await shownCode(reopened, '微信支付')).toBe(code);

  // The channel closes the trade (its time ran out): the cashier and the fee page say so.
  await atFake(page, server, 'wechatpay', 'expire', { out_trade_no: orderNo });
  await expect(reopened.getByText('订单已关闭，无法支付').first()).toBeVisible({ timeout: 20_000 });
  await reopened.close();
  await expect(page.getByRole('alert').filter({ hasText: '订单已关闭，无法支付' })).toBeVisible({ timeout: 20_000 });
  await j.expectFeeStatus(page, '未缴费');

  const { cashier: next, orderNo: newOrderNo } = await openCashier(page, true);
  expect(newOrderNo).not.toBe(orderNo);
  await confirmOn(next, '支付宝');
  await shownCode(next, '支付宝');
  await atFake(page, server, 'alipay', 'pay', { out_trade_no: newOrderNo });
  await expect(next.getByRole('heading', { name: '缴费成功' })).toBeVisible({ timeout: 20_000 });
  await j.expectFeeStatus(page, '已缴费');
});

test('paid at the channel but the notification was lost: 重新查询 still reaches 已缴费 (FAQ 4)', async ({ page, server }) => {
  await atFake(page, server, 'wechatpay', 'faults', { notify_drop_rate: 1.0 });
  await j.firstLogin(page, server, server.candidates[2], async () => {});
  const { cashier, orderNo } = await openCashier(page);
  await confirmOn(cashier, '微信支付');
  await shownCode(cashier, '微信支付');
  await cashier.close();
  await atFake(page, server, 'wechatpay', 'pay', { out_trade_no: orderNo });

  await page.getByRole('button', { name: '重新查询' }).click();
  await j.expectFeeStatus(page, '已缴费');
  await page.reload();
  await j.expectFeeStatus(page, '已缴费');
});

test('a channel that is down is said so in the cashier, and the other channel still pays', async ({ page, server }) => {
  await atFake(page, server, 'wechatpay', 'faults', { down: true });
  await j.firstLogin(page, server, server.candidates[0], async () => {});
  const { cashier, orderNo } = await openCashier(page);
  await confirmOn(cashier, '微信支付');
  await expect(cashier.getByRole('alert')).toContainText('该支付方式暂时无法使用');
  await expect(cashier.locator('.cashier-code .qr')).toHaveCount(0);

  await confirmOn(cashier, '支付宝');
  await shownCode(cashier, '支付宝');
  await atFake(page, server, 'alipay', 'pay', { out_trade_no: orderNo });
  await expect(cashier.getByRole('heading', { name: '缴费成功' })).toBeVisible({ timeout: 20_000 });
  await j.expectFeeStatus(page, '已缴费');
});
