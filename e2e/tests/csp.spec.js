// The web client and the cashiers run under the server's Content-Security-Policy with no
// violation reported: every page of the browser context (the fee page and the cashier
// window it opens) reports `securitypolicyviolation` events and CSP console errors to the
// test, from the first script on, and the test asserts there were none. The policy
// headers are checked to be there, so a server that sent none could not pass.
const { test, expect } = require('../support/fixtures');
const j = require('../support/journey');
const { watchPolicy } = require('../support/policy');

test('the web client and the platform cashier run under their policies', async ({ page, server }) => {
  const violations = await watchPolicy(page.context());
  const index = await page.goto('/');
  const policy = index.headers()['content-security-policy'];
  expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(policy).not.toContain('unsafe-inline');

  await j.firstLogin(page, server, server.candidates[0], async () => {});
  const cashier = await j.submitPayment(page);
  expect(cashier, 'the cashier window opened').not.toBeNull();
  await j.waitingOrderNo(page);
  // The platform's page: its own inline countdown script runs (allowed by hash).
  await j.confirmAndScan(cashier, '微信支付');
  expect(violations).toEqual([]);
});

test.describe('ExamFee cashier on the channel fakes', () => {
  test.use({ serverEnv: { EXAMFEE_DEMO_CHANNELS: '1' } });

  test('shows the channel QR code under the client policy', async ({ page, server }) => {
    const violations = await watchPolicy(page.context());
    await page.goto('/');
    await j.firstLogin(page, server, server.candidates[0], async () => {});
    const cashier = await j.submitPayment(page);
    expect(cashier, 'the cashier window opened').not.toBeNull();
    await cashier.waitForURL(/\/cashier\/[^/?#]+$/);
    await cashier.getByLabel('微信支付').check();
    await cashier.getByRole('button', { name: '确认支付' }).click();
    await expect(cashier.locator('.cashier-code .qr svg')).toBeVisible();
    expect(violations).toEqual([]);
  });
});
