// The operator console on a tablet (iPad, portrait and landscape): every main page fits
// the screen's width — lists scroll inside their own box, the page itself never scrolls
// sideways — and is screenshot and audited as on the desktop.
const { test, expect } = require('../support/fixtures');
const c = require('../support/console');

const PAGES = [
  ['/admin/', '控制台首页'],
  ['/admin/candidates', '导入考生'],
  ['/admin/refunds', null],
  ['/admin/orders', null],
  ['/admin/reconciliation', null],
  ['/admin/audit', null],
  ['/admin/webhooks', null],
];

for (const [name, size] of [['portrait', { width: 768, height: 1024 }], ['landscape', { width: 1024, height: 768 }]]) {
  test(`on a tablet in ${name} every console page fits its width`, async ({ page, server, reached }) => {
    await page.setViewportSize(size);
    await c.consoleLogin(page, server, server.admin, null);
    for (const [path, heading] of PAGES) {
      await page.goto(path);
      await expect(page.locator('main h1, main h2').first()).toBeVisible();
      if (heading) await expect(page.getByRole('heading', { name: heading })).toBeVisible();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} is wider than a ${size.width}px screen`).toBeLessThanOrEqual(0);
      await reached(`console-tablet-${name}${path.replace(/\/$/, '').replace(/\//g, '-')}`);
    }
  });
}
