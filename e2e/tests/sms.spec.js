// 忘记密码 and first-login verification by SMS: the code is read from the sandbox's
// SMS outbox (`GET /sandbox/v1/test/sms?phone=…`), as the candidate reads their phone.
const { test, expect } = require('../support/fixtures');
const j = require('../support/journey');

// The demo candidates' imported phones (api/src/demo.rs).
const PHONES = { 张三: '13812345678', 李四: '13987654321' };

/** The code of the `n`th message to `phone`: the only run of six digits in its text. */
async function nthCode(request, phone, n) {
  let messages = [];
  await expect.poll(async () => {
    const response = await request.get(`/sandbox/v1/test/sms?phone=${phone}`);
    messages = await response.json();
    return messages.length;
  }).toBe(n);
  const runs = messages[0].text.match(/\d+/g).filter((run) => run.length === 6);
  expect(runs).toHaveLength(1);
  return runs[0];
}

test('忘记密码: a code by SMS sets a new password, and the account logs in with it', async ({ page, server, reached }) => {
  const candidate = server.candidates[0];
  const phone = PHONES[candidate.name];
  await page.goto('/login');
  await page.getByRole('link', { name: '忘记密码' }).click();
  await expect(page.getByRole('heading', { name: '忘记密码' })).toBeVisible();

  // Without the captcha nothing is sent.
  await page.getByLabel('证件号').fill(candidate.idNumber);
  await page.getByRole('button', { name: '获取验证码' }).click();
  await expect(page.locator('#captcha_answer-error')).toContainText('请先输入图片验证码');

  await expect(page.locator('button.captcha img')).toBeVisible();
  await page.getByRole('textbox', { name: '验证码', exact: true }).fill(server.captchaAnswer);
  await page.getByRole('button', { name: '获取验证码' }).click();
  await expect(page.locator('#send_sms_code')).toHaveText(/秒后重新获取/);
  await expect(page.locator('#send_sms_code')).toBeDisabled();
  await expect(page.getByRole('status').filter({ hasText: '验证码已发送至预留手机' })).toBeVisible();
  const code = await nthCode(page.request, phone, 1);

  await page.getByLabel('短信验证码').fill(code);
  await page.getByLabel('新密码', { exact: true }).fill('Reset2026pay');
  await page.getByLabel('确认新密码').fill('Reset2026pay');
  await reached('forgot-password');
  await page.getByRole('button', { name: '确定' }).click();
  await expect(page.getByRole('heading', { name: '密码重置成功' })).toBeVisible();
  await page.getByRole('link', { name: '回到登录页' }).click();

  // The reset password is the candidate's own: no forced change follows.
  await j.login(page, server, candidate.idNumber, 'Reset2026pay');
  await expect(page).toHaveURL(/\/profile$/);
});

test.describe('with first-login verification on', () => {
  test.use({ serverEnv: { EXAMFEE_FIRST_LOGIN_VERIFY: 'sms' } });

  test('the forced change asks for the code sent to the masked phone', async ({ page, server, reached }) => {
    const candidate = server.candidates[1];
    const phone = PHONES[candidate.name];
    await page.goto('/login');
    await j.login(page, server, candidate.idNumber, candidate.password);
    await expect(page.getByRole('heading', { name: '重新设置密码' })).toBeVisible();
    await expect(page.locator('#sms_code-hint')).toContainText(`${phone.slice(0, 3)}****${phone.slice(7)}`);

    await page.getByLabel('原密码').fill(candidate.password);
    await page.getByLabel('新密码', { exact: true }).fill(j.NEW_PASSWORD);
    await page.getByLabel('确认新密码').fill(j.NEW_PASSWORD);
    await page.getByRole('button', { name: '确定' }).click();
    await expect(page.locator('#sms_code-error')).toHaveText('请输入6位短信验证码');

    await page.getByRole('button', { name: '获取验证码' }).click();
    await expect(page.locator('#send_sms_code')).toHaveText(/秒后重新获取/);
    const code = await nthCode(page.request, phone, 1);
    await page.getByLabel('短信验证码').fill(code);
    await reached('password-sms');
    await page.getByRole('button', { name: '确定' }).click();
    await expect(page.getByRole('heading', { name: '密码重置成功' })).toBeVisible();
  });
});
