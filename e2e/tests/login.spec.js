// 登录 and the session: the shared ID-number check before any request, a wrong
// captcha, the lock after wrong passwords, an ended session, the language switch,
// and the whole form by keyboard.
const { test, expect } = require('../support/fixtures');
const j = require('../support/journey');

test('the ID number is checked before any request; a wrong captcha is refused with a new image', async ({ page, server, reached }) => {
  const logins = [];
  page.on('request', (r) => { if (r.url().endsWith('/api/v1/auth/login')) logins.push(r); });
  const candidate = server.candidates[0];
  await page.goto('/login');

  const wrongCheckDigit = candidate.idNumber.slice(0, 17) + (candidate.idNumber.endsWith('0') ? '1' : '0');
  await j.fillLogin(page, server, wrongCheckDigit, candidate.password);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await expect(page.locator('#id_number-error')).toHaveText('身份证号校验位错误');
  await expect(page.getByLabel('证件号')).toBeFocused();
  await expect(page.getByLabel('证件号')).toHaveAttribute('aria-invalid', 'true');
  await page.getByLabel('证件号').fill('3101042008');
  await page.getByLabel('密码', { exact: true }).fill('');
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await expect(page.locator('#id_number-error')).toHaveText('身份证号应为18位');
  await expect(page.locator('#password-error')).toHaveText('请输入密码');
  await reached('login-field-errors');
  expect(logins).toHaveLength(0);

  const image = page.locator('button.captcha img');
  const before = await image.getAttribute('src');
  await j.fillLogin(page, server, candidate.idNumber, candidate.password, 'wrong');
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: '验证码错误或已失效' })).toBeVisible();
  await expect(page.getByRole('textbox', { name: '验证码' })).toHaveValue('');
  await expect(image).not.toHaveAttribute('src', before);
  await expect(page.getByRole('textbox', { name: '验证码' })).toBeFocused();
  await reached('login-wrong-captcha');
  expect(logins).toHaveLength(1);

  // The rest by keyboard: type the captcha, Enter submits.
  await page.keyboard.type(server.captchaAnswer);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: '重新设置密码' })).toBeVisible();
});

test.describe('with the rate limit on', () => {
  // The server's default; the other tests turn it off.
  test.use({ serverEnv: { EXAMFEE_RATE_LIMIT_PER_IP: '600' } });

  test('five wrong passwords in a row lock the account', async ({ page, server, reached }) => {
    const candidate = server.candidates[1];
    await page.goto('/login');
    const alert = page.getByRole('alert').filter({ hasText: /账号或密码错误|账号已锁定/ });
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      await j.login(page, server, candidate.idNumber, `wrong${attempt}`);
      await expect(alert).toHaveText('账号或密码错误');
      await page.getByLabel('密码', { exact: true }).fill('');
    }
    await j.login(page, server, candidate.idNumber, 'wrong5');
    await expect(alert).toContainText('密码错误次数过多，账号已锁定');
    await reached('login-locked');
    // Locked means locked: the right password is refused too.
    await j.login(page, server, candidate.idNumber, candidate.password);
    await expect(alert).toContainText('账号已锁定');
  });
});

test('an ended session returns to 登录 with a message', async ({ page, server }) => {
  await j.firstLogin(page, server, server.candidates[2], async () => {});
  // The session ends elsewhere (here: logged out by another request with its cookie,
  // sent as the client sends it: a cookie-authenticated change must say JSON).
  const logout = await page.request.post('/api/v1/auth/logout', {
    headers: { 'Content-Type': 'application/json' },
  });
  expect(logout.status()).toBe(204);
  await page.getByRole('link', { name: '进入缴费' }).click();
  await expect(page).toHaveURL(/\/login\?expired=1$/);
  await expect(page.getByText('登录已失效，请重新登录')).toBeVisible();
  await expect(page.getByRole('button', { name: '退出' })).toHaveCount(0);
});

test('the English switch translates the screens and is remembered', async ({ page }) => {
  await page.goto('/login');
  await page.getByRole('button', { name: 'English' }).click();
  await expect(page.getByRole('heading', { name: 'Candidate login' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await expect(page.locator('#id_number-error')).toHaveText('An ID number has 18 characters.');
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Candidate login' })).toBeVisible();
  await page.getByRole('button', { name: '中文' }).click();
  await expect(page.getByRole('heading', { name: '考生登录' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
});
