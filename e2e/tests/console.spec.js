// The operator console at /admin/, as the authority's staff use it: a clerk imports a
// file of candidates (progress, per-row error report with the file's row numbers, the
// report downloaded), a finance reviewer approves a candidate's refund beside the
// payment, and a reconciliation run shows the difference it fixed. Every screen is
// screenshot and audited (axe-core, WCAG 2 A and AA), and no page reports a violation
// of the server's Content-Security-Policy.
const fs = require('node:fs');
const { test, expect } = require('../support/fixtures');
const c = require('../support/console');
const { watchPolicy } = require('../support/policy');

test('a clerk imports candidates with progress and a downloadable error report', async ({ page, server, playwright, reached }) => {
  const violations = await watchPolicy(page.context());
  const request = await playwright.request.newContext({ baseURL: server.url });
  const clerk = await c.createOperator(request, server, 'clerk');
  await c.consoleLogin(page, server, clerk, reached);
  // A clerk's console: no webhooks, which only an administrator manages.
  await expect(page.getByRole('link', { name: 'Webhook' })).toHaveCount(0);
  await reached('console-home');

  // 1,200 rows, so three requests of 500; two bad rows, one in the second request.
  const lines = ['id_number,name,phone,fee_item_codes'];
  for (let i = 0; i < 1200; i += 1) {
    let id = c.idNumber(i);
    if (i === 2 || i === 699) id = id.slice(0, 17) + (id[17] === '0' ? '1' : '0');
    lines.push(`${id},考生${i},138${String(i).padStart(8, '0')},GK2026-REG;GK2026-EXAM`);
  }
  await page.getByRole('link', { name: '考生' }).click();
  await expect(page.getByRole('heading', { name: '导入考生' })).toBeVisible();
  await page.getByLabel('文件').setInputFiles({
    name: 'candidates.csv', mimeType: 'text/csv', buffer: Buffer.from(lines.join('\n')),
  });
  await page.getByRole('button', { name: '开始导入' }).click();
  await expect(page.getByText('导入完成')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('#rows-done')).toHaveText('1200');
  await expect(page.locator('#rows-imported')).toHaveText('1198');
  await expect(page.locator('#rows-refused')).toHaveText('2');
  const rows = page.locator('table.data tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0).locator('td').first()).toHaveText('3');
  await expect(rows.nth(1).locator('td').first()).toHaveText('700');
  await reached('console-import');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: '下载错误报告（CSV）' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('import-errors.csv');
  const report = fs.readFileSync(await download.path(), 'utf8');
  expect(report).toMatch(/^\ufeffrow,code,message\r\n3,id_number_check_digit,/);
  expect(report).toContain('\r\n700,id_number_check_digit,');
  expect(violations).toEqual([]);
  await request.dispose();
});

test('a finance reviewer approves a refund beside the payment', async ({ page, server, playwright, reached }) => {
  const violations = await watchPolicy(page.context());
  const request = await playwright.request.newContext({ baseURL: server.url });
  const finance = await c.createOperator(request, server, 'finance');
  const { orderNo, refundNo } = await c.refundRequested(request, server, server.candidates[0]);

  await c.consoleLogin(page, server, finance);
  await page.getByRole('link', { name: '退费审核' }).click();
  const row = page.locator('table.data tbody tr').filter({ hasText: refundNo });
  await expect(row).toContainText(orderNo);
  await expect(row).toContainText('待审核');
  await row.getByRole('button', { name: /查看/ }).click();
  const beside = page.locator('aside');
  await expect(beside).toContainText(server.candidates[0].name);
  await expect(beside).toContainText(orderNo);
  await expect(beside).toContainText('微信支付');
  await row.getByRole('checkbox').check();
  await page.getByLabel(/审核意见/).fill('材料齐全，同意退费');
  await reached('console-refunds');
  await page.getByRole('button', { name: '批准退费' }).click();
  const outcome = page.locator('.outcomes li').filter({ hasText: refundNo });
  await expect(outcome).toHaveClass(/ok/);
  // Reviewed, it leaves the queue of requests awaiting review.
  await expect(page.locator('table.data tbody tr').filter({ hasText: refundNo })).toHaveCount(0);
  await reached('console-refund-approved');
  expect(violations).toEqual([]);
  await request.dispose();
});

test.describe('with the order sync worker asleep', () => {
  // A payment whose notification is dropped stays unknown here until reconciliation.
  test.use({ serverEnv: { EXAMFEE_SYNC_INTERVAL_SECS: '3600' } });

  test('a reconciliation run shows the difference it fixed, downloadable', async ({ page, server, platform, playwright, reached }) => {
    const violations = await watchPolicy(page.context());
    const request = await playwright.request.newContext({ baseURL: server.url });
    const finance = await c.createOperator(request, server, 'finance');
    await platform.faults({ notify_drop_rate: 1 });
    const { orderNo } = await c.payAllFees(request, server, server.candidates[1], { waitPaid: false });

    await c.consoleLogin(page, server, finance);
    await page.getByRole('link', { name: '对账' }).click();
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    await page.getByLabel('对账日期（北京时间）').fill(today);
    await page.getByRole('button', { name: '执行对账' }).click();
    const report = page.locator('#reconciliation-report');
    await expect(report).toContainText(`对账结果：${today}`);
    const difference = report.locator('tbody tr').filter({ hasText: orderNo });
    await expect(difference).toContainText('平台已收款，本系统未记为已缴');
    await expect(difference).toContainText('已自动处理');
    await reached('console-reconciliation');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      report.getByRole('button', { name: '下载对账结果（CSV）' }).click(),
    ]);
    const csv = fs.readFileSync(await download.path(), 'utf8');
    expect(csv).toContain(`${today},payment_missing_here,fixed,${orderNo}`);
    // The run is listed with the past ones.
    await expect(page.locator('table.data').last()).toContainText(today);
    expect(violations).toEqual([]);
    await request.dispose();
  });
});
