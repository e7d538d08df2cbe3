// Steps of the manual's journey, as a candidate does them in the browser.
const { expect } = require('@playwright/test');

const NEW_PASSWORD = 'Exam2026pay';

async function fillLogin(page, server, idNumber, password, captcha = server.captchaAnswer) {
  await page.getByLabel('证件号').fill(idNumber);
  await page.getByLabel('密码', { exact: true }).fill(password);
  // The captcha image arrives with its own request; wait so the answer matches it.
  await expect(page.locator('button.captcha img')).toBeVisible();
  await page.getByRole('textbox', { name: '验证码' }).fill(captcha);
}

async function login(page, server, idNumber, password) {
  await fillLogin(page, server, idNumber, password);
  await page.getByRole('button', { name: '登录', exact: true }).click();
}

/** Initial password → forced change (the policy checked live) → 回到登录页 → new login. */
async function firstLogin(page, server, candidate, reached) {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('heading', { name: '考生登录' })).toBeVisible();
  await fillLogin(page, server, candidate.idNumber, candidate.password);
  await reached('login');
  await page.getByRole('button', { name: '登录', exact: true }).click();

  await expect(page.getByRole('heading', { name: '重新设置密码' })).toBeVisible();
  await page.getByLabel('原密码').fill(candidate.password);
  const verdict = page.locator('.policy-verdict');
  await page.getByLabel('新密码', { exact: true }).fill('abc123');
  await expect(verdict).toContainText('密码应为8-16位字符');
  await page.getByLabel('新密码', { exact: true }).fill('abcdefgh');
  await expect(verdict).toContainText('密码须包含数字和英文字母');
  await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
  await expect(verdict).toContainText('密码符合要求');
  await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
  await reached('password');
  await page.getByRole('button', { name: '确定' }).click();
  await expect(page.getByRole('heading', { name: '密码重置成功' })).toBeVisible();
  await page.getByRole('link', { name: '回到登录页' }).click();

  await expect(page.getByText('密码重置成功，请使用新密码重新登录')).toBeVisible();
  await login(page, server, candidate.idNumber, NEW_PASSWORD);
  await expect(page.getByRole('heading', { name: '个人信息' })).toBeVisible();
}

/** The fee list row of one fee item. */
function feeRow(page, title) {
  return page.locator('table.fees tbody tr').filter({ hasText: title });
}

async function expectFeeStatus(page, status, timeout = 30_000) {
  for (const title of ['报名费', '考试费']) {
    await expect(feeRow(page, title)).toContainText(status, { timeout });
  }
}

/** In the platform's cashier window: choose the channel, 确认支付, then scan the QR code. */
async function confirmAndScan(cashier, channel, reached) {
  await cashier.waitForURL(/\/sandbox\/cashier\//);
  await expect(cashier.getByText('¥150.00')).toBeVisible();
  await cashier.getByLabel(channel).check();
  if (reached) await reached('cashier', cashier);
  await cashier.getByRole('button', { name: '确认支付' }).click();
  await expect(cashier.getByText(`请使用${channel}扫码支付`)).toBeVisible();
  await cashier.getByRole('link', { name: '模拟扫码支付' }).click();
  await expect(cashier.getByRole('heading', { name: '支付成功' })).toBeVisible();
}

/** The whole cashier visit: pay, then back to ExamFee after 5 s, and on to the fee list. */
async function payAtCashier(cashier, channel, reached) {
  await confirmAndScan(cashier, channel, reached);
  // The platform sends the payer back to ExamFee's return page after about 5 s …
  await cashier.waitForURL(/\/pay\/return\?order_no=/, { timeout: 15_000 });
  await expect(cashier.getByRole('heading', { name: '缴费成功' })).toBeVisible();
  await reached('pay-return', cashier);
  // … which goes on to the fee list after another 5 s.
  await cashier.waitForURL(/\/fees$/, { timeout: 15_000 });
  await expectFeeStatus(cashier, '已缴费');
}

/** 个人信息 → 进入缴费 → 提交缴费; answers the cashier window (or null when blocked). */
async function submitPayment(page) {
  await page.getByRole('link', { name: '进入缴费' }).click();
  await expectFeeStatus(page, '未缴费');
  const popup = page.waitForEvent('popup', { timeout: 5_000 }).catch(() => null);
  await page.getByRole('button', { name: '提交缴费' }).click();
  return popup;
}

/** The order number the payment panel shows while waiting for the payment. */
async function waitingOrderNo(page) {
  await expect(page.getByRole('heading', { name: '等待支付' })).toBeVisible();
  return (await page.locator('.payment .order-no').textContent()).trim();
}

module.exports = {
  NEW_PASSWORD, fillLogin, login, firstLogin, feeRow, expectFeeStatus, confirmAndScan, payAtCashier,
  submitPayment, waitingOrderNo,
};
