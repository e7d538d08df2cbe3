// The main path by keyboard alone: Tab to each control, type, Enter — from the first
// login to the cashier window and 重新查询.
const { test, expect } = require('../support/fixtures');
const j = require('../support/journey');

/** Presses Tab until `target` has the focus, as a keyboard user moves through the page. */
async function tabTo(page, target) {
  for (let presses = 0; presses < 30; presses += 1) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${target}`);
}

async function typeInto(page, field, text) {
  await tabTo(page, field);
  await page.keyboard.type(text);
}

async function loginByKeyboard(page, server, idNumber, password) {
  await expect(page.locator('button.captcha img')).toBeVisible();
  await typeInto(page, page.getByLabel('证件号'), idNumber);
  await typeInto(page, page.getByLabel('密码', { exact: true }), password);
  await typeInto(page, page.getByRole('textbox', { name: '验证码' }), server.captchaAnswer);
  await page.keyboard.press('Enter');
}

test('the main path works by keyboard alone', async ({ page, server }) => {
  const candidate = server.candidates[0];
  await page.goto('/login');
  await loginByKeyboard(page, server, candidate.idNumber, candidate.password);

  await expect(page.getByRole('heading', { name: '重新设置密码' })).toBeVisible();
  await typeInto(page, page.getByLabel('原密码'), candidate.password);
  await typeInto(page, page.getByLabel('新密码', { exact: true }), j.NEW_PASSWORD);
  await typeInto(page, page.getByLabel('确认新密码'), j.NEW_PASSWORD);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: '密码重置成功' })).toBeFocused();
  await tabTo(page, page.getByRole('link', { name: '回到登录页' }));
  await page.keyboard.press('Enter');

  await loginByKeyboard(page, server, candidate.idNumber, j.NEW_PASSWORD);
  await expect(page.getByRole('heading', { name: '个人信息' })).toBeVisible();
  await tabTo(page, page.getByRole('link', { name: '进入缴费' }));
  await page.keyboard.press('Enter');

  await j.expectFeeStatus(page, '未缴费');
  await tabTo(page, page.getByRole('button', { name: '提交缴费' }));
  const popup = page.waitForEvent('popup');
  await page.keyboard.press('Enter');
  await (await popup).close();
  await j.waitingOrderNo(page);
  await tabTo(page, page.getByRole('button', { name: '重新查询' }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: '等待支付' })).toBeVisible();
  await j.expectFeeStatus(page, '支付中');
});
