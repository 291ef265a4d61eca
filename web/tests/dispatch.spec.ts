// 駆け付け end to end on a 360 px phone screen: an incident → the SOC records remote support and
// sends a technician (chosen by prefecture and skill) from the incident's dispatch panel → the
// technician's phone view records departure, arrival (made while offline, sent when back online,
// and on the server exactly once), work, an action line, a photo and the finish → the customer
// signs off in the same view. The incident's panel then shows every state.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { expectAccessible, login, PASSWORD, screenshots, TestServer, ADMIN } from './fixture';

let srv: TestServer;
let customer = '';
let incident = '';
let techId = '';

test.use({ viewport: { width: 360, height: 740 } });

test.beforeAll(async () => {
  srv = new TestServer();
  customer = srv.addCustomer('駆け付け商事');
  await srv.start();
  techId = await srv.createUser('technician', 'tech@soc.example.jp');
  await srv.createUser('technician', 'other@soc.example.jp');
  await srv.createUser('customer_user', 'yamada@kaketsuke.example.jp', customer);
  const { api, csrf } = await srv.client();
  // Profiles: only tech@ serves Tokyo with the router skill.
  for (const [id, body] of [
    [techId, { skills: ['ルーター'], prefectures: ['東京都'], availability: ['all 00:00-24:00'] }],
  ] as const) {
    const r = await api.put(`/api/v1/technicians/${id}`, { headers: { 'X-CSRF-Token': csrf }, data: body });
    expect(r.status(), await r.text()).toBe(200);
  }
  // An incident from a device of the customer, through the real device API.
  const e = await api.post('/api/v1/enroll', {
    data: { code: srv.enrollCode(customer), hostname: 'gw', kind: 'sensor', version: '1' },
  });
  expect(e.status(), await e.text()).toBe(201);
  const token = (await e.json()).device_token as string;
  const line = JSON.stringify({
    timestamp: '2026-11-26T19:40:35.000000+0900',
    event_type: 'alert',
    src_ip: '192.168.0.2',
    src_port: 49152,
    dest_ip: '203.0.113.7',
    dest_port: 443,
    proto: 'TCP',
    alert: { action: 'allowed', gid: 1, signature_id: 2100001, rev: 1, signature: 'ET MALWARE ルーター乗っ取り', category: 'A Network Trojan was detected', severity: 1 },
  });
  const i = await api.post('/api/v1/ingest', {
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-ndjson', 'X-Mimamori-Seq-First': '1', 'X-Mimamori-Seq-Last': '1' },
    data: line + '\n',
  });
  expect(i.status(), await i.text()).toBe(200);
  await api.dispose();
  incident = await srv.waitForIncident(customer);
});

test.afterAll(async () => {
  await srv.stop();
});

async function asUser(browser: Browser, email: string, password = PASSWORD): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await ctx.newPage();
  await login(page, srv, email, password);
  return page;
}

async function steps(id: string): Promise<string[]> {
  const { api } = await srv.client();
  const r = await api.get(`/api/v1/dispatches/${id}`);
  const d = await r.json();
  await api.dispose();
  return (d.steps as { state: string }[]).map((s) => s.state);
}

test('incident → remote → on-site → departure, arrival offline, finish → sign-off', async ({ browser }) => {
  // The SOC: remote support from the incident, then a technician on site.
  const soc = await asUser(browser, ADMIN.email, ADMIN.password);
  await soc.goto(`${srv.url}/incidents/${incident}`);
  await soc.getByLabel('概要', { exact: true }).fill('ルーターの不審な通信');
  await soc.getByRole('button', { name: 'リモート対応を始める' }).click();
  const row = soc.locator('.dispatch-row');
  await expect(row.getByTestId('dispatch-state')).toHaveText('リモート対応中');
  const id = (await row.getAttribute('data-dispatch'))!;
  await row.getByLabel('リモートで行ったこと').fill('リモートで再起動、改善せず');
  await row.getByRole('button', { name: 'リモート対応を記録' }).click();
  await expect(row.locator('.timeline li')).toHaveCount(2);
  await row.getByLabel('都道府県').fill('東京都');
  await row.getByLabel('住所', { exact: true }).fill('千代田区千代田1-1');
  await row.getByLabel('必要なスキル (カンマ区切り)').fill('ルーター');
  await row.getByRole('button', { name: '現地に技術者を派遣する' }).click();
  await expect(row.getByTestId('dispatch-state')).toHaveText('派遣決定');
  await expect(row).toContainText('tech@soc.example.jp');
  await expect(row).toContainText('既定の 24 時間');

  // The technician's phone: their own dispatch, one big button for the next state.
  const tech = await asUser(browser, 'tech@soc.example.jp');
  await tech.goto(`${srv.url}/dispatches`);
  const card = tech.locator(`article[data-dispatch="${id}"]`);
  await expect(card.getByTestId('visit-state')).toHaveText('派遣決定');
  await expectAccessible(tech, 'dispatch-phone');
  expect(await tech.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  const big = card.getByRole('button', { name: '出発した' });
  const box = await big.boundingBox();
  expect(box!.height).toBeGreaterThanOrEqual(48);
  await big.click();
  await expect(card.getByTestId('visit-state')).toHaveText('移動中');
  await expect.poll(() => steps(id)).toContain('departed');

  // Arrival with no connection: kept on the phone, sent when back online, exactly once.
  await tech.context().setOffline(true);
  await expect(tech.getByTestId('connection')).toContainText('オフライン');
  await card.getByRole('button', { name: '到着した' }).click();
  await expect(card.getByTestId('visit-state')).toHaveText('到着');
  await expect(tech.getByTestId('connection')).toContainText('送信待ち 1 件');
  expect(await tech.evaluate(() => JSON.parse(localStorage.getItem('mm_dispatch_queue') ?? '[]').length)).toBe(1);
  expect(await steps(id)).not.toContain('arrived');
  await tech.context().setOffline(false);
  await expect(tech.getByTestId('connection')).not.toContainText('送信待ち');
  await expect.poll(() => steps(id)).toContain('arrived');
  // The same queued change sent again (as a flaky network would) changes nothing.
  await tech.evaluate(async (dispatch) => {
    const csrf = sessionStorage.getItem('mm_csrf') ?? '';
    for (let i = 0; i < 2; i++) {
      await fetch(`/api/v1/dispatches/${dispatch}/action`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, 'Idempotency-Key': 'replayed-line' },
        body: JSON.stringify({ text: 'ONU の電源を確認' }),
      });
    }
  }, id);
  expect((await steps(id)).filter((s) => s === 'arrived')).toHaveLength(1);
  expect((await steps(id)).filter((s) => s === 'action')).toHaveLength(1);

  await card.getByRole('button', { name: '作業を始める' }).click();
  await expect(card.getByTestId('visit-state')).toHaveText('作業中');
  await card.getByLabel('対応内容 (1行ずつ記録)').fill('ルーターのファームウェアを更新');
  await card.getByRole('button', { name: '記録する' }).click();
  await expect.poll(async () => (await steps(id)).filter((s) => s === 'action').length).toBe(2);
  await card.getByLabel('写真・ファイルを添付').setInputFiles({
    name: 'router.jpg',
    mimeType: 'image/jpeg',
    buffer: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF router photo')]),
  });
  await expect(card.getByRole('status')).toContainText('添付しました');
  await card.getByRole('button', { name: '作業を終えた' }).click();
  await expect(card.getByTestId('visit-state')).toHaveText('作業完了');
  await expect.poll(() => steps(id)).toContain('finished');
  await screenshots(tech, 'dispatch-phone');

  // The customer signs off in the same view.
  const cust = await asUser(browser, 'yamada@kaketsuke.example.jp');
  await cust.goto(`${srv.url}/dispatches`);
  const ccard = cust.locator(`article[data-dispatch="${id}"]`);
  await expect(ccard.getByTestId('visit-state')).toHaveText('作業完了');
  await expect(ccard.getByRole('button', { name: '作業を終えた' })).toHaveCount(0);
  await ccard.getByRole('button', { name: '確認して完了する' }).click();
  await expect(ccard.locator('#sign-' + id + '-error')).toHaveText('入力してください');
  await ccard.getByLabel('ご確認者のお名前').fill('山田 太郎');
  await ccard.getByRole('button', { name: '確認して完了する' }).click();
  await expect(cust.getByText('山田 太郎 様 確認済み')).toBeVisible();
  expect(await cust.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);

  // Every state, once, in order; the incident's panel shows them.
  expect((await steps(id)).filter((s) => s !== 'action' && s !== 'evidence')).toEqual([
    'remote',
    'remote',
    'assigned',
    'departed',
    'arrived',
    'working',
    'finished',
    'signed_off',
  ]);
  await soc.reload();
  await expect(soc.locator('.dispatch-row').getByTestId('dispatch-state')).toHaveText('お客様確認済み');
  await expect(soc.locator('.dispatch-row .timeline')).toContainText('山田 太郎');
  // The other technician has nothing to do.
  const other = await asUser(browser, 'other@soc.example.jp');
  await other.goto(`${srv.url}/dispatches`);
  await expect(other.getByText('対応中の駆け付けはありません')).toBeVisible();
});
