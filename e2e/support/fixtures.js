// The fixtures every test uses: its own server (`serverEnv` adds settings), the page
// pointed at it, the sandbox platform's test helpers and the operator API, and `reached`
// for the screenshot and accessibility audit of each main screen.
const path = require('node:path');
const base = require('@playwright/test');
const { default: AxeBuilder } = require('@axe-core/playwright');
const { startServer, SCREENSHOTS } = require('./server');

const test = base.test.extend({
  serverEnv: [{}, { option: true }],

  server: async ({ serverEnv }, use, testInfo) => {
    const server = await startServer(serverEnv);
    await use(server);
    if (testInfo.status !== testInfo.expectedStatus) {
      await testInfo.attach('examfee.log', { body: server.log(), contentType: 'text/plain' });
    }
    await server.stop();
  },

  baseURL: async ({ server }, use) => use(server.url),

  /** The sandbox's test helpers (as a payer's phone would) and the operator API. */
  platform: async ({ server, playwright }, use) => {
    const request = await playwright.request.newContext({ baseURL: server.url });
    const ok = async (response) => {
      base.expect(response.ok(), `${response.url()}: ${await response.text()}`).toBeTruthy();
      return response.status() === 204 ? null : response.json();
    };
    const platform = {
      pay: (orderNo, channel = 'wechat') =>
        request.post(`/sandbox/v1/test/trades/${orderNo}/pay`, { data: { channel } }).then(ok),
      expire: (orderNo) => request.post(`/sandbox/v1/test/trades/${orderNo}/expire`, { data: {} }).then(ok),
      faults: (faults) => request.put('/sandbox/v1/test/faults', { data: faults }).then(ok),
      async approveRefunds() {
        const { captcha_id } = await request.post('/api/v1/auth/captcha').then(ok);
        const { access_token } = await request.post('/api/v1/admin/login', {
          data: { ...server.admin, captcha_id, captcha_answer: server.captchaAnswer },
        }).then(ok);
        const headers = { Authorization: `Bearer ${access_token}` };
        const refunds = await request.get('/api/v1/admin/refunds?status=requested', { headers }).then(ok);
        for (const refund of refunds) {
          await request.post(`/api/v1/admin/refunds/${refund.refund_no}/approve`, { headers, data: {} }).then(ok);
        }
        return refunds.length;
      },
    };
    await use(platform);
    await request.dispose();
  },

  /**
   * A main screen reached: its screenshot, and an accessibility audit (axe-core, WCAG 2
   * A and AA) that fails the test on any violation. The platform's own cashier pages
   * are not ExamFee's and get only the screenshot.
   */
  reached: async ({ page }, use, testInfo) => {
    const viewport = page.viewportSize();
    const tag = viewport && viewport.width < 640 ? 'phone' : 'desktop';
    await use(async (name, target = page) => {
      const file = path.join(SCREENSHOTS, `${tag}-${name}.png`);
      await target.screenshot({ path: file, fullPage: true });
      testInfo.annotations.push({ type: 'screenshot', description: file });
      if (new URL(target.url()).pathname.startsWith('/sandbox/')) return;
      const { violations } = await new AxeBuilder({ page: target }).withTags(['wcag2a', 'wcag2aa']).analyze();
      const found = violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
      base.expect(found, `accessibility of ${name}`).toEqual([]);
    });
  },
});

module.exports = { test, expect: base.expect };
