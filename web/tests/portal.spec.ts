// The portal's settings page, on a phone-sized screen: a customer admin adds a user (form errors
// in Japanese that send nothing), stops and restores a login, and adds and removes the e-mail and
// LINE destinations of notices, which the portal's home then lists. A customer user has no
// settings page; another organisation's admin cannot read these channels.
import { expect, request, test } from '@playwright/test';
import { expectAccessible, login, PASSWORD, screenshots, TestServer } from './fixture';

let srv: TestServer;
let a = '';

test.beforeAll(async () => {
  srv = new TestServer();
  a = srv.addCustomer('設定商事');
  const b = srv.addCustomer('隣の会社');
  await srv.start();
  await srv.createUser('customer_admin', 'owner@a.example.jp', a);
  await srv.createUser('customer_user', 'user@a.example.jp', a);
  await srv.createUser('customer_admin', 'owner@b.example.jp', b);
});

test.afterAll(async () => {
  await srv.stop();
});

test.use({ viewport: { width: 390, height: 844 } });

async function loginStatus(email: string, password: string): Promise<number> {
  const api = await request.newContext({ baseURL: srv.url, ignoreHTTPSErrors: true });
  const r = await api.post('/api/v1/login', { data: { email, password } });
  await api.dispose();
  return r.status();
}

test('a customer admin adds a user, stops and restores their login', async ({ page }) => {
  await login(page, srv, 'owner@a.example.jp', PASSWORD);
  await page.getByRole('link', { name: '連絡先と通知の設定を変更する' }).click();
  await expect(page).toHaveURL(/\/portal\/settings$/);
  await expect(page.getByRole('heading', { name: '連絡先と通知の設定', level: 1 })).toBeVisible();
  await expectAccessible(page, 'portal-settings');
  await screenshots(page, 'portal-settings');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  const sent: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/v1/users')) sent.push(r.url());
  });
  const submit = page.getByRole('button', { name: '追加する' }).first();
  await submit.click();
  await expect(page.locator('#u-name-error')).toHaveText('入力してください');
  await expect(page.locator('#u-email-error')).toHaveText('メールアドレスを入力してください');
  await expect(page.locator('#u-password-error')).toHaveText('入力してください');
  await page.getByLabel('名前', { exact: true }).first().fill('経理 花子');
  await page.getByLabel('メールアドレス').fill('hanako@');
  await page.getByLabel('最初のパスワード (12文字以上)').fill('short');
  await submit.click();
  await expect(page.locator('#u-email-error')).toContainText('メールアドレスの形式が正しくありません');
  await expect(page.locator('#u-password-error')).toHaveText('新しいパスワードは12文字以上にしてください');
  expect(sent).toEqual([]);

  await page.getByLabel('メールアドレス').fill('hanako@a.example.jp');
  await page.getByLabel('最初のパスワード (12文字以上)').fill('hanako first password');
  await submit.click();
  await expect(page.getByRole('status')).toContainText('hanako@a.example.jp を追加しました');
  const row = page.locator('tr[data-user="hanako@a.example.jp"]');
  await expect(row).toContainText('経理 花子');
  await expect(row).toContainText('利用者');
  await expect(row).toContainText('利用中');
  expect(await loginStatus('hanako@a.example.jp', 'hanako first password')).toBe(200);

  // The same address again: refused by the server, said in Japanese.
  await page.getByLabel('名前', { exact: true }).first().fill('二人目');
  await page.getByLabel('メールアドレス').fill('hanako@a.example.jp');
  await page.getByLabel('最初のパスワード (12文字以上)').fill('hanako first password');
  await submit.click();
  await expect(page.locator('#u-email-error')).toHaveText('このメールアドレスはすでに登録されています');

  // No button to stop one's own login.
  await expect(page.locator('tr[data-user="owner@a.example.jp"] button')).toHaveCount(0);
  page.once('dialog', (d) => void d.accept());
  await row.getByRole('button', { name: 'ログインを止める' }).click();
  await expect(row).toContainText('停止中');
  expect(await loginStatus('hanako@a.example.jp', 'hanako first password')).toBe(401);
  await row.getByRole('button', { name: 'ログインを再開する' }).click();
  await expect(row).toContainText('利用中');
  expect(await loginStatus('hanako@a.example.jp', 'hanako first password')).toBe(200);
});

test('a customer admin adds and removes e-mail and LINE destinations; the home lists them', async ({ page }) => {
  await login(page, srv, 'owner@a.example.jp', PASSWORD);
  await page.goto(`${srv.url}/portal/settings`);
  const add = page.getByRole('button', { name: '追加する' }).nth(1);
  const target = page.locator('#c-target');
  const channels = async () => {
    const { api } = await srv.client('owner@a.example.jp', PASSWORD);
    const items = (await (await api.get('/api/v1/channels')).json()).items as { kind: string; name: string }[];
    await api.dispose();
    return items;
  };

  await add.click();
  await expect(page.locator('#c-target-error')).toHaveText('メールアドレスを入力してください');
  await target.fill('not-mail');
  await add.click();
  await expect(page.locator('#c-target-error')).toContainText('メールアドレスの形式が正しくありません');
  await page.getByLabel('種類').selectOption('line');
  await target.fill('Uabc');
  await add.click();
  await expect(page.locator('#c-target-error')).toHaveText('LINE の送り先 ID は U・C・R のあとに英数字32文字です');
  await expect(page.locator('#c-secret-error')).toHaveText('入力してください');
  expect(await channels()).toEqual([]);

  await target.fill(`U${'0123456789abcdef'.repeat(2)}`);
  await page.getByLabel('LINE のチャネルアクセストークン').fill('line-token-for-the-test');
  await page.getByLabel('名前 (任意)').fill('<img src=x onerror="window.__x=1">社長');
  await add.click();
  const line = page.locator('tr[data-channel]').filter({ hasText: 'LINE' });
  await expect(line).toContainText('<img src=x onerror="window.__x=1">社長'); // as text
  expect(await page.evaluate(() => (window as unknown as { __x?: number }).__x)).toBeUndefined();

  await page.getByLabel('種類').selectOption('email');
  await target.fill('alerts@a.example.jp');
  await page.getByLabel('通知する深刻度').selectOption('high');
  await add.click();
  const mail = page.locator('tr[data-channel]').filter({ hasText: 'alerts@a.example.jp' });
  await expect(mail).toContainText('深刻度 高 以上');
  expect((await channels()).map((c) => c.kind).sort()).toEqual(['email', 'line']);
  // The LINE token never comes back.
  expect(JSON.stringify(await channels())).not.toContain('line-token-for-the-test');

  await page.goto(`${srv.url}/portal`);
  const contacts = page.locator('.card').filter({ hasText: '連絡先と通知の設定' });
  await expect(contacts).toContainText('メール');
  await expect(contacts).toContainText('LINE');
  await expect(contacts).toContainText('深刻度 高 以上');

  await page.goto(`${srv.url}/portal/settings`);
  page.once('dialog', (d) => void d.accept());
  await mail.getByRole('button', { name: '削除' }).click();
  await expect(mail).toHaveCount(0);
  expect((await channels()).map((c) => c.kind)).toEqual(['line']);

  // Another organisation's admin cannot list them.
  const other = await srv.client('owner@b.example.jp', PASSWORD);
  expect((await other.api.get(`/api/v1/channels?customer_id=${a}`)).status()).toBe(404);
  await other.api.dispose();
});

test('a customer user has no settings page', async ({ page }) => {
  await login(page, srv, 'user@a.example.jp', PASSWORD);
  await expect(page.getByRole('navigation').getByRole('link', { name: '設定' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: '連絡先と通知の設定を変更する' })).toHaveCount(0);
  await page.goto(`${srv.url}/portal/settings`);
  await expect(page.getByTestId('not-found')).toBeVisible();
});
