// Suppression rules and threat indicators: a rule saved from an incident's "suppress similar"
// (after its preview) is listed and can be removed; indicators are added with form errors in
// Japanese that save nothing, refused twice, removed, and shown again with "all"; a technician
// reads both lists but changes neither.
import { expect, test } from '@playwright/test';
import { expectAccessible, login, PASSWORD, screenshots, TestServer } from './fixture';

let srv: TestServer;
let a = '';
let incident = '';

test.beforeAll(async () => {
  srv = new TestServer();
  a = srv.addCustomer('抑制商事');
  await srv.start();
  await srv.createUser('analyst', 'analyst@example.jp');
  await srv.createUser('technician', 'tech@example.jp');
  srv.sensorReplay(a, 'sensor-a');
  incident = await srv.waitForIncident(a);
});

test.afterAll(async () => {
  await srv.stop();
});

async function apiList(path: string): Promise<Record<string, unknown>[]> {
  const { api } = await srv.client();
  const items = (await (await api.get(path)).json()).items;
  await api.dispose();
  return items;
}

test('a rule saved from "suppress similar" is listed and can be removed', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.goto(`${srv.url}/incidents/${incident}`);
  await page.getByRole('button', { name: '似たアラートを抑制' }).first().click();
  await page.getByLabel('理由', { exact: true }).fill('社内の監視装置の通信');
  await page.getByRole('button', { name: '過去に該当したアラートを確認' }).click();
  await expect(page.getByTestId('suppress-preview')).toContainText(/過去のアラート [1-9]\d* 件が非表示/);
  expect(await apiList('/api/v1/suppressions')).toEqual([]);
  await page.getByRole('button', { name: 'ルールを保存' }).click();
  await expect(page.getByRole('status')).toContainText('抑制ルールを保存しました');
  const saved = await apiList('/api/v1/suppressions');
  expect(saved).toHaveLength(1);
  expect(saved[0]!.signature_id).toBe(9200001);

  await page.getByRole('link', { name: '抑制ルールの一覧へ' }).click();
  await expect(page).toHaveURL(new RegExp(`/suppressions\\?customer_id=${a}$`));
  const row = page.locator(`tr[data-suppression="${saved[0]!.id}"]`);
  await expect(row).toContainText('sid 9200001');
  await expect(row).toContainText('社内の監視装置の通信');
  await expect(row).toContainText('抑制商事');
  await expect(row).toContainText('analyst@example.jp');
  await expectAccessible(page, 'suppressions');
  await screenshots(page, 'suppressions');

  page.once('dialog', (d) => void d.accept());
  await row.getByRole('button', { name: '削除' }).click();
  await expect(row).toHaveCount(0);
  expect(await apiList('/api/v1/suppressions')).toEqual([]);
});

test('threat indicators: errors in Japanese save nothing; add, refuse twice, remove, show all', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.getByRole('navigation').getByRole('link', { name: '脅威情報' }).click();
  await expect(page).toHaveURL(/\/threats$/);
  const submit = page.getByRole('button', { name: '追加する' });
  await submit.click();
  await expect(page.locator('#th-value-error')).toHaveText('入力してください');
  await expect(page.locator('#th-source-error')).toHaveText('入力してください');
  await expect(page.locator('#th-reason-error')).toHaveText('入力してください');
  await page.getByLabel('IP アドレス・CIDR・ドメイン').fill('not a host!');
  await page.getByLabel('情報源 (フィード、注意喚起、事案など)').fill('JPCERT/CC 注意喚起');
  await page.getByLabel('理由', { exact: true }).fill('C2 サーバー');
  await page.getByLabel('有効日数 (空欄なら無期限)').fill('0');
  await submit.click();
  await expect(page.locator('#th-value-error')).toContainText('IP アドレス (例: 192.0.2.1)');
  await expect(page.locator('#th-days-error')).toHaveText('有効日数は 1 から 3650 までの整数で入力してください');
  expect(await apiList('/api/v1/threats?all=1')).toEqual([]);

  await page.getByLabel('IP アドレス・CIDR・ドメイン').fill('198.51.100.7');
  await page.getByLabel('有効日数 (空欄なら無期限)').fill('30');
  await submit.click();
  const ip = page.locator('tr[data-threat="198.51.100.7"]');
  await expect(ip).toContainText('JPCERT/CC 注意喚起');
  await expect(ip).toContainText('JST');
  await expect(page.getByLabel('IP アドレス・CIDR・ドメイン')).toHaveValue('');
  const listed = await apiList('/api/v1/threats');
  expect(listed.map((x) => x.value)).toEqual(['198.51.100.7']);
  const days = (Date.parse(String(listed[0]!.expires_at).replace(/(\.\d{3})\d*/, '$1').replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) - Date.now()) / 86400e3;
  expect(days).toBeGreaterThan(29.9);
  expect(days).toBeLessThan(30.1);

  // The same value again: refused, said in Japanese.
  await page.getByLabel('IP アドレス・CIDR・ドメイン').fill('198.51.100.7');
  await page.getByLabel('情報源 (フィード、注意喚起、事案など)').fill('重複');
  await page.getByLabel('理由', { exact: true }).fill('重複');
  await submit.click();
  await expect(page.locator('#th-value-error')).toHaveText('この値はすでに登録されています');

  await page.getByLabel('IP アドレス・CIDR・ドメイン').fill('bad.example');
  await page.getByLabel('有効日数 (空欄なら無期限)').fill('');
  await submit.click();
  await expect(page.locator('tr[data-threat="bad.example"]')).toContainText('なし');
  await expectAccessible(page, 'threats');
  await screenshots(page, 'threats');

  page.once('dialog', (d) => void d.accept());
  await ip.getByRole('button', { name: '削除' }).click();
  await expect(ip).toHaveCount(0);
  await page.getByLabel('削除済み・期限切れも表示').check();
  await expect(ip).toContainText('に削除');
  await expect(ip.getByRole('button')).toHaveCount(0);
});

test('a technician reads both lists but has no buttons to change them', async ({ page }) => {
  await login(page, srv, 'tech@example.jp', PASSWORD);
  await page.goto(`${srv.url}/threats`);
  await expect(page.locator('tr[data-threat="bad.example"]')).toBeVisible();
  await expect(page.getByRole('heading', { name: '脅威情報を追加' })).toHaveCount(0);
  await expect(page.locator('main button')).toHaveCount(0);
  await page.goto(`${srv.url}/suppressions`);
  await expect(page.getByRole('heading', { name: '抑制ルール', level: 1 })).toBeVisible();
  await expect(page.locator('main table button')).toHaveCount(0);
});
