// Notification channels and the on-call rotation: the provider admin adds a provider-wide Slack
// channel (its URL shown back as scheme and host only) and a customer's e-mail channel, with
// form errors in Japanese that save nothing, and orders the rotation; an analyst manages only
// customers' e-mail and LINE channels and reads the rotation.
import { expect, test } from '@playwright/test';
import { ADMIN, expectAccessible, login, PASSWORD, pickCustomer, screenshots, TestServer } from './fixture';

let srv: TestServer;
let analystId = '';

test.beforeAll(async () => {
  srv = new TestServer();
  srv.addCustomer('通知商事');
  await srv.start();
  analystId = await srv.createUser('analyst', 'analyst@example.jp');
});

test.afterAll(async () => {
  await srv.stop();
});

async function apiGet(path: string): Promise<Record<string, unknown>[]> {
  const { api } = await srv.client();
  const items = (await (await api.get(path)).json()).items;
  await api.dispose();
  return items;
}

test('the provider admin adds channels and orders the on-call rotation', async ({ page }) => {
  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: '通知と当番' }).click();
  await expect(page).toHaveURL(/\/notifications$/);
  const add = page.getByRole('button', { name: '追加する' });
  await add.click();
  await expect(page.locator('#n-target-error')).toHaveText('入力してください');
  await page.getByLabel('種類').selectOption('slack');
  await page.locator('#n-target').fill('http://hooks.slack.example/services/T0/B0/secretpath');
  await add.click();
  await expect(page.locator('#n-target-error')).toHaveText('https:// で始まる URL を入力してください');
  expect(await apiGet('/api/v1/channels')).toEqual([]);

  await page.getByLabel('名前 (任意)').fill('SOC Slack');
  await page.locator('#n-target').fill('https://hooks.slack.example/services/T0/B0/secretpath');
  await add.click();
  const slack = page.locator('tr[data-channel="SOC Slack"]');
  await expect(slack).toContainText('提供者');
  await expect(slack).toContainText('https://hooks.slack.example/…');
  await expect(page.locator('main')).not.toContainText('secretpath');

  await pickCustomer(page, 'n-customer', '通知商事');
  await page.getByLabel('種類').selectOption('email');
  await page.getByLabel('名前 (任意)').fill('情報システム係');
  await page.locator('#n-target').fill('it@customer.example.jp');
  await add.click();
  await expect(page.locator('tr[data-channel="情報システム係"]')).toContainText('通知商事');
  const slackId = (await apiGet('/api/v1/channels')).find((c) => c.name === 'SOC Slack')!.id as string;

  // The rotation: the analyst by Slack, then the admin by e-mail; then the admin moved first.
  await page.getByRole('button', { name: '当番を追加' }).click();
  await page.getByLabel('1 番目の当番').selectOption({ label: 'analyst@example.jp' });
  await page.getByLabel('1 番目の送り先').selectOption(slackId);
  await page.getByRole('button', { name: '当番を追加' }).click();
  await page.getByLabel('2 番目の当番').selectOption({ label: ADMIN.email });
  await page.getByRole('button', { name: '2 番目を上へ' }).click();
  await page.getByRole('button', { name: '当番を保存' }).click();
  await expect(page.getByRole('status')).toHaveText('当番を保存しました');
  const rot = await apiGet('/api/v1/oncall');
  expect(rot.map((x) => [x.email, x.channel_id])).toEqual([
    [ADMIN.email, ''],
    ['analyst@example.jp', slackId],
  ]);
  await page.reload();
  await expect(page.getByLabel('2 番目の当番')).toHaveValue(analystId);
  await expect(page.getByLabel('2 番目の送り先')).toHaveValue(slackId);
  await expectAccessible(page, 'notifications');
  await screenshots(page, 'notifications');
});

test('an analyst manages only customers\' e-mail and LINE channels and reads the rotation', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.goto(`${srv.url}/notifications`);
  const kinds = await page.getByLabel('種類').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  expect(kinds).toEqual(['email', 'line']);
  await page.getByRole('button', { name: '追加する' }).click();
  await expect(page.locator('#n-customer-error')).toHaveText('顧客を選んでください');
  await expect(page.locator('tr[data-channel="SOC Slack"] button')).toHaveCount(0);
  await expect(page.getByTestId('oncall')).toContainText('analyst@example.jp');
  await expect(page.getByRole('button', { name: '当番を保存' })).toHaveCount(0);
  page.once('dialog', (d) => void d.accept());
  await page.locator('tr[data-channel="情報システム係"]').getByRole('button', { name: '削除' }).click();
  await expect(page.locator('tr[data-channel="情報システム係"]')).toHaveCount(0);
  expect((await apiGet('/api/v1/channels')).map((c) => c.name)).toEqual(['SOC Slack']);
  await expectAccessible(page, 'notifications-analyst');
});
