// The login screen over a throttled connection, as a candidate on a weak phone signal
// first meets it: Chromium's network emulation at DevTools' "Slow 4G" preset, empty cache.
// It REPORTS the time to first contentful paint, the time until the login form can be
// used and the bytes of the main WASM on the wire, and of the later screens' modules the
// client fetches ahead meanwhile (printed, and written to test-results/slow-4g.json);
// speed is reported, never asserted. It asserts only that the form appears and that
// every WASM came brotli-compressed.
const fs = require('node:fs');
const path = require('node:path');
const { test, expect } = require('../support/fixtures');

// DevTools' "Slow 4G": 1.6 Mbit/s down and 750 kbit/s up, each × 0.9, and 150 ms × 3.75
// of latency (its adjustment factors for request-level throttling).
const SLOW_4G = {
  offline: false,
  downloadThroughput: (1.6 * 1000 * 1000) / 8 * 0.9,
  uploadThroughput: (750 * 1000) / 8 * 0.9,
  latency: 150 * 3.75,
};

test('the login screen on Slow 4G: first paint and a usable form, reported', async ({ page }, testInfo) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', SLOW_4G);

  // Bytes on the wire per request, from Chromium's own accounting.
  const wasm = new Map();
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    if (new URL(response.url).pathname.endsWith('.wasm')) {
      wasm.set(requestId, { url: response.url, encoding: response.headers['content-encoding'] ?? response.headers['Content-Encoding'], bytes: 0 });
    }
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const entry = wasm.get(requestId);
    if (entry) entry.bytes = encodedDataLength;
  });

  await page.goto('/login', { waitUntil: 'commit' });
  const submit = page.getByRole('button', { name: '登录', exact: true });
  await expect(page.getByLabel('证件号')).toBeEditable({ timeout: 60_000 });
  await expect(submit).toBeEnabled();
  // The moment the form became usable, on the page's own clock (from navigation start).
  const usable = await page.evaluate(() => performance.now());
  const paint = await page.evaluate(() => {
    const entry = performance.getEntriesByName('first-contentful-paint')[0];
    return entry ? entry.startTime : null;
  });

  const files = [...wasm.values()].map(({ url, encoding, bytes }) => ({ file: path.basename(new URL(url).pathname), encoding, bytes }));
  // The main module is the one the page names; the rest are split modules.
  const main = files.filter((f) => f.file.startsWith('app-'));
  const split = files.filter((f) => !f.file.startsWith('app-'));
  const report = {
    throttling: { preset: 'Slow 4G', ...SLOW_4G },
    first_contentful_paint_ms: paint === null ? null : Math.round(paint),
    login_form_usable_ms: Math.round(usable),
    wasm: main,
    wasm_bytes: main.reduce((sum, f) => sum + f.bytes, 0),
    split_modules_fetched_by_then: split.length,
    split_bytes_by_then: split.reduce((sum, f) => sum + f.bytes, 0),
  };
  console.log(`Slow 4G login screen: ${JSON.stringify(report)}`);
  fs.mkdirSync(path.join(__dirname, '..', 'test-results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, '..', 'test-results', 'slow-4g.json'), `${JSON.stringify(report, null, 2)}\n`);
  testInfo.annotations.push({ type: 'slow-4g', description: JSON.stringify(report) });

  expect(main.length, 'the WASM was loaded').toBe(1);
  for (const file of files) expect(file.encoding, file.file).toBe('br');
});
