// @ts-check
// Browser tests of the candidate web client. Each test starts its own `examfee serve`
// (support/fixtures.js), so tests never share state and may run in parallel.
const path = require('node:path');
const { defineConfig } = require('@playwright/test');

const screenshots = path.join(__dirname, 'screenshots');

module.exports = defineConfig({
  testDir: './tests',
  // A payment waits for the cashier's 5-second return and the return page's 5 seconds.
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  globalSetup: require.resolve('./support/global-setup.js'),
  metadata: { screenshots },
  use: {
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      // Debian's Chromium: no browser download is possible here (see CONVENTIONS.md).
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  outputDir: path.join(__dirname, 'test-results'),
});
