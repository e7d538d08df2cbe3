// What the operator console's tests set up through the API (operators of each role, a
// candidate who paid in the sandbox and asked for a refund) and the console's login.
const { expect } = require('@playwright/test');

const OPERATOR_PASSWORD = 'console pass phrase 2026';

/** The API as a script uses it: each call must succeed. */
function api(request) {
  const ok = async (response) => {
    expect(response.ok(), `${response.url()}: ${await response.text()}`).toBeTruthy();
    return response.status() === 204 ? null : response.json();
  };
  const bearer = (token) => ({ Authorization: `Bearer ${token}` });
  return {
    ok,
    get: (path, token) => request.get(path, { headers: bearer(token) }).then(ok),
    post: (path, token, data) => request.post(path, { headers: token ? bearer(token) : {}, data }).then(ok),
  };
}

async function captcha(call) {
  const { captcha_id } = await call.post('/api/v1/auth/captcha', null, {});
  return captcha_id;
}

async function adminToken(call, server) {
  const body = { ...server.admin, captcha_id: await captcha(call), captcha_answer: server.captchaAnswer };
  return (await call.post('/api/v1/admin/login', null, body)).access_token;
}

/** A new operator of `role`, created by the bootstrap admin. */
async function createOperator(request, server, role) {
  const call = api(request);
  const admin = await adminToken(call, server);
  const username = `${role}01`;
  await call.post('/api/v1/admin/operators', admin, { username, password: OPERATOR_PASSWORD, role });
  return { username, password: OPERATOR_PASSWORD };
}

/** A demo candidate logged in with a password of their own: their token. */
async function candidateToken(call, server, candidate) {
  const login = async (password) => (await call.post('/api/v1/auth/login', null, {
    id_number: candidate.idNumber, password, captcha_id: await captcha(call), captcha_answer: server.captchaAnswer,
  })).access_token;
  const first = await login(candidate.password);
  const password = 'Console2026pay';
  await call.post('/api/v1/auth/password', first, { old_password: candidate.password, new_password: password });
  return login(password);
}

/** The candidate's order of every fee, paid at the sandbox as by phone: its number. */
async function payAllFees(request, server, candidate, { waitPaid = true } = {}) {
  const call = api(request);
  const token = await candidateToken(call, server, candidate);
  const fees = await call.get('/api/v1/me/fees', token);
  const order = await call.post('/api/v1/orders', token, { fee_item_codes: fees.map((f) => f.fee_item_code) });
  await call.post(`/sandbox/v1/test/trades/${order.order_no}/pay`, null, { channel: 'wechat' });
  if (waitPaid) {
    await expect.poll(async () => (await call.get(`/api/v1/orders/${order.order_no}`, token)).status,
      { timeout: 30_000 }).toBe('paid');
  }
  return { orderNo: order.order_no, token };
}

/** Paid, then 申请退费: the refund's number and the order's. */
async function refundRequested(request, server, candidate) {
  const call = api(request);
  const { orderNo, token } = await payAllFees(request, server, candidate);
  const refund = await call.post(`/api/v1/orders/${orderNo}/refund`, token, { reason: '考试时间冲突，无法参加' });
  return { orderNo, refundNo: refund.refund_no };
}

/** The console's login page, as an operator uses it. */
async function consoleLogin(page, server, operator, reached) {
  await page.goto('/admin/');
  await expect(page).toHaveURL(/\/admin\/login$/);
  await expect(page.getByRole('heading', { name: '管理控制台登录' })).toBeVisible();
  await page.getByLabel('用户名').fill(operator.username);
  await page.getByLabel('密码', { exact: true }).fill(operator.password);
  await expect(page.locator('button.captcha img')).toBeVisible();
  await page.getByRole('textbox', { name: '验证码', exact: true }).fill(server.captchaAnswer);
  if (reached) await reached('console-login');
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await expect(page.getByRole('heading', { name: '控制台首页' })).toBeVisible();
}

/** A resident ID number with its GB 11643 check digit. */
function idNumber(i) {
  const base = `110105199001${String(1 + Math.floor(i / 900)).padStart(2, '0')}${String(100 + (i % 900))}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...base].reduce((s, d, k) => s + Number(d) * weights[k], 0);
  return base + '10X98765432'[sum % 11];
}

module.exports = { createOperator, payAllFees, refundRequested, consoleLogin, idNumber };
