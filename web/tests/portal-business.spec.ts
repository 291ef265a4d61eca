// The portal's own contract, monthly reports and IT subsidy pages, as a customer sees them: A's
// contract in plain words with its devices, A's report months downloading as PDFs, the subsidy
// calculator prefilled from A's plan giving the API's numbers at the lower bound and the reason
// when nothing is granted; nothing of customer B, also when the address is edited by hand, and
// B (no complete month yet) sees the reports' empty state.
import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ARTIFACTS, expectAccessible, login, PASSWORD, screenshots, TestServer } from './fixture';

let srv: TestServer;
let a = '';
let b = '';
let bContract = '';

const PLAN_A = {
  name: 'あんしん併用プラン',
  type: 'combined',
  monthly_fee: 2000,
  per_device_fee: 500,
  initial_fee: 28000,
  min_term_months: 24,
  desk_hours: '平日 9:00-18:00',
  dispatch: '要請から24時間以内に訪問',
  dispatch_arrival_hours: 24,
  insurance_coverage: 1000000,
  status: 'registered',
  terms: { initial_fee: '契約時に一括', term: '2年ごとの自動更新', cancellation_penalty: '残り月数の月額の半額', right_to_cancel: '書面でいつでも解約できます' },
};

test.beforeAll(async () => {
  srv = new TestServer();
  a = srv.addCustomer('みなと精工');
  b = srv.addCustomer('となり物産');
  const codeA = srv.enrollCode(a);
  await srv.start();
  await srv.createUser('customer_admin', 'owner@a.example.jp', a);
  await srv.createUser('customer_user', 'user@a.example.jp', a);
  await srv.createUser('customer_admin', 'owner@b.example.jp', b);
  const { api, csrf } = await srv.client();
  const h = { 'X-CSRF-Token': csrf };
  const dev = await api.post('/api/v1/enroll', { data: { code: codeA, hostname: 'minato-gw', kind: 'sensor', version: '1' } });
  expect(dev.status(), await dev.text()).toBe(201);
  const deviceA = (await dev.json()).device_id as string;
  const pa = await api.post('/api/v1/plans', { headers: h, data: PLAN_A });
  expect(pa.status(), await pa.text()).toBe(201);
  const pb = await api.post('/api/v1/plans', { headers: h, data: { ...PLAN_A, name: 'となり専用プラン', monthly_fee: 7777, per_device_fee: 0, type: 'network' } });
  expect(pb.status(), await pb.text()).toBe(201);
  const ka = await api.post('/api/v1/contracts', {
    headers: h,
    data: { customer_id: a, plan_id: (await pa.json()).id, devices: 2, device_ids: [deviceA], start_date: '2026-04-01', end_date: '2028-03-31', insurance_policy: 'MINATO-001', insurance_until: '2028-03-31' },
  });
  expect(ka.status(), await ka.text()).toBe(201);
  // B's service begins in the future: no report month yet.
  const kb = await api.post('/api/v1/contracts', {
    headers: h,
    data: { customer_id: b, plan_id: (await pb.json()).id, devices: 1, start_date: '2099-01-01', insurance_policy: 'TONARI-SECRET', insurance_until: '2099-12-31' },
  });
  expect(kb.status(), await kb.text()).toBe(201);
  bContract = (await kb.json()).id as string;
  await api.dispose();
});

test.afterAll(async () => {
  await srv.stop();
});

/** A JSON answer fetched with the page's own session (the address typed by hand). */
async function fetchAs(page: Page, path: string): Promise<{ status: number; body: string }> {
  const r = await page.request.get(`${srv.url}${path}`);
  return { status: r.status(), body: await r.text() };
}

test('my contract: the own plan in plain words, its devices; another customer\'s contract is not reachable', async ({ page }) => {
  await login(page, srv, 'owner@a.example.jp', PASSWORD);
  await page.getByRole('navigation').getByRole('link', { name: 'ご契約内容' }).click();
  await expect(page).toHaveURL(/\/portal\/contract$/);
  const c = page.locator('[data-contract]');
  await expect(c).toHaveCount(1);
  await expect(page.getByTestId('contract-summary')).toHaveText('「あんしん併用プラン」をご利用中です。毎月のお支払いは ¥3,000（2台分）です。');
  await expect(c.locator('[data-field="status"]')).toHaveText('契約中');
  await expect(c.locator('[data-field="period"]')).toHaveText('2026-04-01 から 2028-03-31 まで');
  await expect(c.locator('[data-field="type"]')).toContainText('併用型 · 1類');
  await expect(c.locator('[data-field="monthly"]')).toContainText('基本料金 ¥2,000 ＋ 1台あたり ¥500 × 2台');
  await expect(c.locator('[data-field="initial"]')).toContainText('¥28,000');
  await expect(c.locator('[data-field="term"]')).toContainText('最低 24 か月');
  await expect(c.locator('[data-field="cancel"]')).toContainText('書面でいつでも解約できます');
  await expect(c.locator('[data-field="cancel"]')).toContainText('残り月数の月額の半額');
  await expect(c.locator('[data-field="desk"]')).toHaveText('平日 9:00-18:00');
  await expect(c.locator('[data-field="dispatch"]')).toContainText('24 時間以内');
  await expect(c.locator('[data-field="insurance"]')).toContainText('¥1,000,000');
  await expect(c.locator('[data-field="insurance"]')).toContainText('MINATO-001');
  await expect(c.locator('[data-field="devices"] li')).toHaveCount(1);
  await expect(c.locator('[data-field="devices"]')).toContainText('minato-gw');
  // Nothing of B's contract.
  const body = await page.locator('body').innerText();
  for (const secret of ['となり', 'TONARI', '7,777']) expect(body).not.toContain(secret);
  await expectAccessible(page, 'portal-contract');
  await screenshots(page, 'portal-contract');

  // B's contract by its address: not found, and the attempt is audited.
  const r = await fetchAs(page, `/api/v1/contracts/${bContract}`);
  expect(r.status).toBe(404);
  expect(r.body).not.toContain('TONARI');
  const list = await fetchAs(page, `/api/v1/contracts?customer_id=${b}`);
  expect(list.body).not.toContain('TONARI');
  const denied = (await srv.audit()).filter((e) => e.action === 'contract.read' && e.object_id === bContract);
  expect(denied.length).toBeGreaterThan(0);
  expect(denied.every((e) => e.outcome === 'denied')).toBe(true);
});

/** YYYY-MM of the JST month `back` months before now. */
function monthBack(back: number): string {
  const now = new Date(Date.now() + 9 * 3600e3);
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

test('reports: A\'s months since the contract began, each a PDF; B\'s by address is not found; B sees the empty state', async ({ page }) => {
  await login(page, srv, 'owner@a.example.jp', PASSWORD);
  await page.getByRole('navigation').getByRole('link', { name: '月次レポート' }).click();
  await expect(page).toHaveURL(/\/portal\/reports$/);
  const rows = page.locator('#portal-reports tbody tr');
  // Every complete month from 2026-04 (the contract's start) to last month, newest first.
  const last = monthBack(1);
  const [ly, lm] = last.split('-').map(Number) as [number, number];
  const months = (ly - 2026) * 12 + (lm - 4) + 1;
  await expect(rows).toHaveCount(months);
  await expect(rows.first()).toHaveAttribute('data-month', last);
  await expect(rows.last()).toHaveAttribute('data-month', '2026-04');
  await expect(rows.last()).toContainText('2026年4月');
  await expectAccessible(page, 'portal-reports');
  await screenshots(page, 'portal-reports');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: '2026年4月のレポートを PDF でダウンロード' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`mimamori-report-${a}-2026-04.pdf`);
  const file = (await download.path())!;
  expect(readFileSync(file).subarray(0, 5).toString()).toBe('%PDF-');
  const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
  expect(text).toContain('みなと精工');
  expect(text).toContain('2026年4月');
  expect(text).not.toContain('となり物産');

  // B's list and B's PDF with A's session: not found, nothing of B.
  for (const path of [`/api/v1/customers/${b}/reports`, `/api/v1/customers/${b}/reports/2026-11`]) {
    const r = await fetchAs(page, path);
    expect(r.status, path).toBe(404);
    expect(r.body).not.toContain('となり');
  }
  const denied = (await srv.audit()).filter((e) => e.action === 'report.list' && e.object_id === b);
  expect(denied.length).toBeGreaterThan(0);
  expect(denied.every((e) => e.outcome === 'denied')).toBe(true);

  await page.getByRole('button', { name: 'ログアウト' }).click();
  await login(page, srv, 'owner@b.example.jp', PASSWORD);
  await page.goto(`${srv.url}/portal/reports`);
  const thisMonth = monthBack(0);
  const [ty, tm] = thisMonth.split('-').map(Number) as [number, number];
  await expect(page.locator('#reports-empty')).toContainText(`まだレポートはありません。最初のレポート（${ty}年${tm}月分）`);
  await expect(page.locator('#portal-reports')).toHaveCount(0);
  await expectAccessible(page, 'portal-reports-empty');
});

async function apiEstimate(page: Page, body: Record<string, number>): Promise<Record<string, number | string>> {
  const csrf = await page.evaluate(() => sessionStorage.getItem('mm_csrf') ?? '');
  const r = await page.request.post(`${srv.url}/api/v1/subsidy`, { data: body, headers: { 'X-CSRF-Token': csrf } });
  expect(r.status(), await r.text()).toBe(200);
  return r.json();
}

async function shown(page: Page, key: string): Promise<number> {
  return Number(await page.locator(`#subsidy-result [data-value="${key}"]`).getAttribute('data-amount'));
}

test('subsidy: prefilled from the own plan, the API\'s numbers at the lower bound, nothing under it with the reason, errors beside their field', async ({ page }) => {
  await login(page, srv, 'user@a.example.jp', PASSWORD);
  await page.getByRole('navigation').getByRole('link', { name: 'IT導入補助金' }).click();
  await expect(page).toHaveURL(/\/portal\/subsidy$/);
  const field = (label: string) => page.getByLabel(label, { exact: true });
  await expect(field('申請する年')).toHaveValue('2026');
  await expect(field('月額の基本料金 (円)')).toHaveValue('2000');
  await expect(field('1台あたりの月額 (円)')).toHaveValue('500');
  await expect(field('台数')).toHaveValue('2');
  await expect(field('初期費用 (円)')).toHaveValue('28000');
  await expect(field('利用する月数')).toHaveValue('24');

  // ¥3,000 × 24 + ¥28,000 = ¥100,000 eligible; half is ¥50,000, exactly the lower bound.
  // The own plan's estimate shows at once.
  const at = { year: 2026, monthly_fee: 2000, per_device_fee: 500, devices: 2, initial_fee: 28000, months: 24 };
  await expect(page.locator('#subsidy-result')).toHaveAttribute('data-outcome', 'within_bounds');
  const api = await apiEstimate(page, at);
  expect(api.subsidy).toBe(50000);
  for (const k of ['eligible_cost', 'subsidy', 'customer_share', 'total_cost']) expect(await shown(page, k), k).toBe(api[k]);
  await expect(page.locator('#subsidy-result [data-value="rate"]')).toHaveText('1/2');
  await expect(page.locator('#subsidy-result [data-value="customer_share"]')).toHaveText('¥50,000');
  await expect(page.locator('#subsidy-reason')).toHaveCount(0);
  await expectAccessible(page, 'portal-subsidy');
  await screenshots(page, 'portal-subsidy');

  // ¥2 less: ¥49,999 is under the bound, nothing is granted and the page says why.
  await field('初期費用 (円)').fill('27998');
  await page.getByRole('button', { name: '計算する' }).click();
  await expect(page.locator('#subsidy-result')).toHaveAttribute('data-outcome', 'below_lower_bound');
  const below = await apiEstimate(page, { ...at, initial_fee: 27998 });
  expect(below.subsidy).toBe(0);
  for (const k of ['eligible_cost', 'subsidy', 'customer_share']) expect(await shown(page, k), k).toBe(below[k]);
  await expect(page.locator('#subsidy-reason')).toHaveText('計算上の補助額 ¥49,999 が下限 ¥50,000 に届かないため、補助は受けられません。');

  // The API's errors beside the field they name; no result is shown.
  await field('利用する月数').fill('0');
  await page.getByRole('button', { name: '計算する' }).click();
  await expect(page.locator('#ps-months-error')).toContainText('この値では計算できません');
  await expect(page.locator('#ps-months-error')).toContainText('must be 1..');
  await expect(page.locator('#subsidy-result')).toHaveCount(0);
  await field('利用する月数').fill('24');
  await field('申請する年').fill('2019');
  await page.getByRole('button', { name: '計算する' }).click();
  await expect(page.locator('#ps-year-error')).toContainText('2019 is not a year with known rules');
  await expect(page.locator('#ps-months-error')).toHaveCount(0);
  await field('申請する年').fill('abc');
  await page.getByRole('button', { name: '計算する' }).click();
  await expect(page.locator('#ps-year-error')).toHaveText('半角の整数で入力してください');
  await expectAccessible(page, 'portal-subsidy-errors');
});

/** On the page as it is: no horizontal scroll, and `action` within the screen's width once scrolled to. */
async function fitsPhone(page: Page, action: ReturnType<Page['locator']>): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await action.scrollIntoViewIfNeeded();
  await expect(action).toBeInViewport({ ratio: 1 });
  const box = (await action.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(390);
  // A thumb-sized target.
  expect(box.height).toBeGreaterThanOrEqual(24);
}

test('on a phone (390×844): contract, reports and subsidy fit the screen, their main action in reach, axe clean', async ({ browser }) => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, ignoreHTTPSErrors: true, locale: 'ja-JP', isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  try {
    await login(page, srv, 'owner@a.example.jp', PASSWORD);

    // The contract: the whole card readable; its way to the subsidy calculator is the next step.
    await page.goto(`${srv.url}/portal/contract`);
    await expect(page.locator('[data-contract]')).toHaveCount(1);
    await fitsPhone(page, page.getByRole('link', { name: 'このプランで IT導入補助金がいくら使えるか計算する' }));
    await expectAccessible(page, 'portal-contract-phone');
    await page.screenshot({ path: `${ARTIFACTS}/screenshots/portal-contract-phone.png`, fullPage: true });

    // Reports: the newest month's PDF is a tap away, and downloads.
    await page.goto(`${srv.url}/portal/reports`);
    const first = page.locator('#portal-reports tbody tr').first().getByRole('link');
    await expect(first).toBeVisible();
    await fitsPhone(page, first);
    const [download] = await Promise.all([page.waitForEvent('download'), first.tap()]);
    expect(download.suggestedFilename()).toBe(`mimamori-report-${a}-${monthBack(1)}.pdf`);
    await expectAccessible(page, 'portal-reports-phone');
    await page.screenshot({ path: `${ARTIFACTS}/screenshots/portal-reports-phone.png`, fullPage: true });

    // Subsidy: every field and 計算する fit; a tap computes (¥50,000 at the own plan's figures).
    await page.goto(`${srv.url}/portal/subsidy`);
    await expect(page.locator('#subsidy-result')).toHaveAttribute('data-outcome', 'within_bounds');
    for (const label of ['申請する年', '月額の基本料金 (円)', '1台あたりの月額 (円)', '台数', '初期費用 (円)', '利用する月数']) {
      const box = (await page.getByLabel(label, { exact: true }).boundingBox())!;
      expect(box.x + box.width, label).toBeLessThanOrEqual(390);
    }
    const calc = page.getByRole('button', { name: '計算する' });
    await fitsPhone(page, calc);
    await page.getByLabel('台数', { exact: true }).fill('3');
    await calc.tap();
    await expect(page.locator('#subsidy-result [data-value="eligible_cost"]')).toHaveAttribute('data-amount', String((2000 + 500 * 3) * 24 + 28000));
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectAccessible(page, 'portal-subsidy-phone');
    await page.screenshot({ path: `${ARTIFACTS}/screenshots/portal-subsidy-phone.png`, fullPage: true });
  } finally {
    await ctx.close();
  }
});
