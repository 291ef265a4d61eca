// 簡易サイバー保険 in the browser against a real server: the provider admin sets a contract's
// policy (a period ending before it starts is refused on the form and nothing is sent), raises a
// claim on the incident screen, adds cost lines and sees the computed amounts, submits it and
// downloads the PDF package; the customer's portal shows the policy summary and what they still
// pay, and another customer sees none of it.
import { expect, request, test } from '@playwright/test';
import { ADMIN, expectAccessible, login, PASSWORD, screenshots, TestServer } from './fixture';

let srv: TestServer;
let a = '';
let contract = '';
let incident = '';

const CUSTOMER_TEXT = '免責金額（初動対応 50,000円）と、補償に含まれない損害賠償はお客様のご負担です。';

test.beforeAll(async () => {
  srv = new TestServer();
  a = srv.addCustomer('保険テスト商店');
  const b = srv.addCustomer('隣の会社');
  await srv.start();
  await srv.createUser('customer_admin', 'owner@a.example.jp', a);
  await srv.createUser('customer_admin', 'owner@b.example.jp', b);
  const { api, csrf } = await srv.client();
  const h = { 'X-CSRF-Token': csrf };
  const plan = await api.post('/api/v1/plans', {
    headers: h,
    data: {
      name: 'ライト',
      type: 'network',
      monthly_fee: 9800,
      desk_hours: '平日',
      dispatch: '24時間以内',
      insurance_coverage: 1000000,
      status: 'registered',
      terms: { initial_fee: '無料', term: '1年', cancellation_penalty: 'なし', right_to_cancel: 'いつでも' },
    },
  });
  expect(plan.status(), await plan.text()).toBe(201);
  const c = await api.post('/api/v1/contracts', {
    headers: h,
    data: {
      customer_id: a,
      plan_id: (await plan.json()).id,
      devices: 1,
      start_date: '2026-04-01',
      insurance_policy: '仮',
      insurance_until: '2026-12-31',
    },
  });
  expect(c.status(), await c.text()).toBe(201);
  contract = (await c.json()).id;
  // A device of A sends one ransomware alert through the real device API: an incident.
  const anon = await request.newContext({ baseURL: srv.url, ignoreHTTPSErrors: true });
  const e = await anon.post('/api/v1/enroll', { data: { code: srv.enrollCode(a), hostname: 'gw-honsha', kind: 'sensor', version: '1' } });
  expect(e.status(), await e.text()).toBe(201);
  const token = (await e.json()).device_token as string;
  const line = JSON.stringify({
    timestamp: '2026-11-26T19:40:35.000000+0900',
    event_type: 'alert',
    src_ip: '192.168.1.20',
    src_port: 49152,
    dest_ip: '203.0.113.9',
    dest_port: 443,
    proto: 'TCP',
    alert: { action: 'allowed', gid: 1, signature_id: 2024897, rev: 1, signature: 'ET MALWARE Ransomware LockBit beacon', category: 'A Network Trojan was detected', severity: 1 },
  });
  const i = await anon.post('/api/v1/ingest', {
    headers: { 'Content-Type': 'application/x-ndjson', Authorization: `Bearer ${token}`, 'X-Mimamori-Seq-First': '1', 'X-Mimamori-Seq-Last': '1' },
    data: `${line}\n`,
  });
  expect(i.status(), await i.text()).toBe(200);
  await anon.dispose();
  await api.dispose();
  incident = await srv.waitForIncident(a);
});

test.afterAll(async () => {
  await srv.stop();
});

test('the provider sets a policy, raises a claim, sees the amounts and downloads the package', async ({ page }) => {
  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.getByRole('link', { name: '保険', exact: true }).click();
  await expect(page.getByRole('heading', { name: '簡易サイバー保険', level: 1 })).toBeVisible();
  await page.locator(`tr[data-contract="${contract}"]`).getByRole('link', { name: '保険を見る・編集' }).click();
  await expect(page).toHaveURL(new RegExp(`/contracts/${contract}/policy$`));
  await expect(page.getByText('この契約にはまだ保険が登録されていません。')).toBeVisible();

  const puts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'PUT') puts.push(r.url());
  });
  await page.getByLabel('保険会社', { exact: true }).fill('みまもり損害保険');
  await page.getByLabel('証券番号', { exact: true }).fill('CY-2026-0001');
  await page.getByLabel('保険期間の開始日').fill('2026-04-01');
  await page.getByLabel('保険期間の終了日').fill('2026-03-31');
  await page.locator('tr[data-item="initial_response"] input[type=checkbox]').check();
  await page.getByLabel('初動対応費用の支払限度額 (円)').fill('300000');
  await page.getByLabel('初動対応費用の免責金額 (円)').fill('50000');
  await page.locator('tr[data-item="forensics"] input[type=checkbox]').check();
  await page.getByLabel('フォレンジック調査費用の支払限度額 (円)').fill('1000000');
  await page.getByLabel('お客様が負担する費用の説明 (お客様に表示されます)').fill(CUSTOMER_TEXT);
  await page.getByRole('button', { name: '保険を保存する' }).click();
  await expect(page.locator('#p-end_date-error')).toHaveText('終了日が開始日より前になっています');
  expect(puts).toEqual([]);
  await page.getByLabel('保険期間の終了日').fill('2027-03-31');
  await page.getByRole('button', { name: '保険を保存する' }).click();
  await expect(page.getByRole('status')).toHaveText('保険を保存しました');
  expect(puts.length).toBe(1);
  await expectAccessible(page, 'insurance-policy');
  await screenshots(page, 'insurance-policy');

  // The claim on the incident screen.
  await page.goto(`${srv.url}/incidents/${incident}`);
  await page.getByRole('button', { name: '保険請求を作成する' }).click();
  const claim = page.locator('section.claim');
  await expect(claim.getByTestId('claim-status')).toHaveText('下書き');
  const add = async (desc: string, item: string, amount: string, on: string) => {
    await claim.getByLabel('費用の内容').fill(desc);
    await claim.getByLabel('補償項目').selectOption({ label: item });
    await claim.getByLabel('金額 (円)').fill(amount);
    await claim.getByLabel('発生日').fill(on);
    await claim.getByRole('button', { name: '費用を追加する' }).click();
  };
  // A negative amount is refused on the form.
  await add('誤入力', '初動対応費用', '-5', '2026-11-27');
  await expect(claim.locator('.field-error')).toHaveText('1以上の整数 (円) を入力してください');
  await add('技術者の駆け付け', '初動対応費用', '80000', '2026-11-27');
  await expect(claim.locator('tbody tr')).toHaveCount(1);
  await add('取引先への賠償', '損害賠償', '500000', '2026-12-05');
  await expect(claim.locator('tbody tr')).toHaveCount(2);
  // 80,000 − 50,000 deductible = 30,000 covered; liability is not covered.
  await expect(claim.getByTestId('claim-totals')).toContainText('580,000円');
  await expect(claim.getByTestId('claim-totals')).toContainText('30,000円');
  await expect(claim.getByTestId('claim-totals')).toContainText('550,000円');
  await expect(claim).toContainText('「損害賠償」はご契約の保険の補償に含まれていないため');
  await claim.getByRole('button', { name: '保険会社へ請求済みにする' }).click();
  await expect(claim.getByTestId('claim-status')).toHaveText('請求済み');
  await expect(claim.getByRole('button', { name: '費用を追加する' })).toHaveCount(0);
  // The timeline of the incident says so.
  await expect(page.getByText('保険請求を「請求済み」にしました')).toBeVisible();
  await expectAccessible(page, 'insurance-claim');
  await screenshots(page, 'insurance-claim');

  const [download] = await Promise.all([page.waitForEvent('download'), claim.getByRole('link', { name: '請求資料 (PDF) をダウンロード' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^mimamori-claim-clm_[0-9a-f]+\.pdf$/);
  const path = await download.path();
  const fs = await import('node:fs');
  expect(fs.readFileSync(path!).subarray(0, 5).toString()).toBe('%PDF-');
});

test('the customer sees its policy summary and what it still pays; another customer does not', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await login(page, srv, 'owner@a.example.jp', PASSWORD);
  const card = page.locator('section[data-policy="CY-2026-0001"]');
  await expect(card).toContainText('みまもり損害保険');
  await expect(card).toContainText('保険期間 2026-04-01〜2027-03-31');
  await expect(card.locator('tr', { hasText: '初動対応費用' })).toContainText('300,000円');
  await expect(card.locator('tr', { hasText: '初動対応費用' })).toContainText('50,000円');
  await expect(card.locator('tr', { hasText: '損害賠償' })).toContainText('補償なし');
  await expect(card.getByRole('heading', { name: 'お客様のご負担について' })).toBeVisible();
  await expect(card.getByTestId('customer-text')).toHaveText(CUSTOMER_TEXT);
  await expectAccessible(page, 'portal-insurance');
  await screenshots(page, 'portal-insurance');

  const other = await srv.client('owner@b.example.jp', PASSWORD);
  const r = await other.api.get(`/api/v1/contracts/${contract}/policy`);
  expect(r.status()).toBe(404);
  const claims = await other.api.get(`/api/v1/incidents/${incident}/claims`);
  expect(claims.status()).toBe(404);
  await other.api.dispose();
});
