// The screen a path shows (web/src/app.rs, `Screen::of`): a path that is no screen of
// the client, a trailing slash, a screen's path with more segments than it has; and a
// followed link writes its address into the address bar, so that reloading or going
// back and forward finds the same screen.
const { test, expect } = require('../support/fixtures');

test('a path that is no screen says so and leads home; a trailing slash is the same screen', async ({ page }) => {
  await page.goto('/no-such-screen');
  await expect(page.getByRole('heading', { name: '页面不存在' })).toBeVisible();
  await expect(page).toHaveTitle('页面不存在 - 考试院在线收费系统');
  await page.getByRole('main').getByRole('link', { name: '返回主页' }).click();
  // Not logged in: home is 登录.
  await expect(page.getByRole('heading', { name: '考生登录' })).toBeVisible();
  await expect(page).toHaveURL(/\/login$/);

  await page.goto('/receipt/A1/more');
  await expect(page.getByRole('heading', { name: '页面不存在' })).toBeVisible();
  await page.goto('/cashier/');
  await expect(page.getByRole('heading', { name: '页面不存在' })).toBeVisible();

  await page.goto('/login/?expired=1');
  await expect(page.getByRole('heading', { name: '考生登录' })).toBeVisible();
  await expect(page.getByRole('status')).toHaveText('登录已失效，请重新登录');

  await page.getByRole('link', { name: '忘记密码' }).click();
  await expect(page.getByRole('heading', { name: '忘记密码' })).toBeVisible();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.goBack();
  await expect(page.getByRole('heading', { name: '考生登录' })).toBeVisible();
  await page.goForward();
  await expect(page.getByRole('heading', { name: '忘记密码' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('heading', { name: '忘记密码' })).toBeVisible();
});
