// Customers, users and roles: the provider admin adds a customer and users (form errors in
// Japanese that send nothing), stops and restores a login, ends a user's sessions and sets a new
// password; an analyst adds customer users only; a technician has no such screen.
import { expect, request, test } from '@playwright/test';
import { ADMIN, expectAccessible, login, PASSWORD, pickCustomer, screenshots, TestServer } from './fixture';

let srv: TestServer;

test.beforeAll(async () => {
  srv = new TestServer();
  srv.addCustomer('既存商事');
  await srv.start();
  await srv.createUser('analyst', 'analyst@example.jp');
  await srv.createUser('technician', 'tech@example.jp');
});

test.afterAll(async () => {
  await srv.stop();
});

async function loginStatus(email: string, password: string): Promise<number> {
  const api = await request.newContext({ baseURL: srv.url, ignoreHTTPSErrors: true });
  const r = await api.post('/api/v1/login', { data: { email, password } });
  await api.dispose();
  return r.status();
}

test('the provider admin adds a customer and users, stops a login, ends sessions, sets a password', async ({ page }) => {
  test.slow(); // several password hashes on the server
  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: '顧客と利用者' }).click();
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.locator('tr[data-user="analyst@example.jp"]')).toContainText('アナリスト');
  await expectAccessible(page, 'users');
  await screenshots(page, 'users');

  // A customer.
  await page.getByRole('button', { name: '顧客を追加する' }).click();
  await expect(page.locator('#cu-name-error')).toHaveText('入力してください');
  await page.getByLabel('顧客名').fill('新規工業');
  await page.getByRole('button', { name: '顧客を追加する' }).click();
  await expect(page.getByText('顧客「新規工業」を追加しました')).toBeVisible();

  // Users: errors first, nothing sent.
  const sent: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/v1/users')) sent.push(r.url());
  });
  const add = page.getByRole('button', { name: '追加する', exact: true });
  await add.click();
  await expect(page.locator('#nu-name-error')).toHaveText('入力してください');
  await expect(page.locator('#nu-email-error')).toHaveText('メールアドレスを入力してください');
  await expect(page.locator('#nu-customer-error')).toHaveText('顧客を選んでください');
  expect(sent).toEqual([]);

  await page.getByLabel('名前', { exact: true }).fill('工場 太郎');
  await page.getByLabel('メールアドレス').fill('taro@new.example.jp');
  await page.getByLabel('最初のパスワード (12文字以上)').fill('taro first password');
  await pickCustomer(page, 'nu-customer', '新規工業', '新規');
  await add.click();
  const taro = page.locator('tr[data-user="taro@new.example.jp"]');
  await expect(taro).toContainText('新規工業');
  await expect(taro).toContainText('利用者');

  await page.getByLabel('役割').selectOption('desk');
  await expect(page.locator('#nu-customer')).toHaveCount(0); // provider roles have no customer
  await page.getByLabel('名前', { exact: true }).fill('窓口 花子');
  await page.getByLabel('メールアドレス').fill('desk@example.jp');
  await page.getByLabel('最初のパスワード (12文字以上)').fill('desk first password');
  await add.click();
  const desk = page.locator('tr[data-user="desk@example.jp"]');
  await expect(desk).toContainText('窓口');
  await expect(desk).toContainText('提供者');
  expect(await loginStatus('desk@example.jp', 'desk first password')).toBe(200);

  // Stop and restore the login.
  page.once('dialog', (d) => void d.accept());
  await desk.getByRole('button', { name: 'ログインを止める' }).click();
  await expect(desk).toContainText('停止中');
  expect(await loginStatus('desk@example.jp', 'desk first password')).toBe(401);
  await desk.getByRole('button', { name: 'ログインを再開する' }).click();
  await expect(desk).toContainText('利用中');

  // End the sessions of a logged-in user.
  const { api } = await srv.client('desk@example.jp', 'desk first password');
  expect((await api.get('/api/v1/me')).status()).toBe(200);
  await desk.getByRole('button', { name: 'ログイン中の画面を終了' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'desk@example.jp のログイン中の画面を終了しました' })).toBeVisible();
  expect((await api.get('/api/v1/me')).status()).toBe(401);
  await api.dispose();

  // A new password: a short one is refused in Japanese.
  await desk.getByRole('button', { name: 'パスワードを再設定' }).click();
  const field = page.getByLabel('desk@example.jp の新しいパスワード (12文字以上)');
  await field.fill('short');
  await desk.getByRole('button', { name: '設定する' }).click();
  await expect(desk.locator('.field-error')).toHaveText('新しいパスワードは12文字以上にしてください');
  await field.fill('the reset password 9');
  await desk.getByRole('button', { name: '設定する' }).click();
  await expect(desk).toContainText('に再設定しました');
  expect(await loginStatus('desk@example.jp', 'the reset password 9')).toBe(200);
  // No buttons on one's own row.
  await expect(page.locator(`tr[data-user="${ADMIN.email}"] button`)).toHaveCount(0);
});

test('the provider admin finds a customer by typing and changes its prefecture; a bad one is refused beside the field', async ({ page }) => {
  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.goto(`${srv.url}/users`);
  // The picker searches the server as one types (GET /api/v1/customers?q=), keyboard only.
  const searched: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v1/customers' && u.searchParams.has('q')) searched.push(u.searchParams.get('q')!);
  });
  await pickCustomer(page, 'us-customer', '既存商事', '既存');
  expect(searched).toContain('既存');
  await expect(page).toHaveURL(/customer_id=cus_/);
  const box = page.getByLabel('都道府県');
  await expect(box).toHaveValue('');
  await box.fill('大阪');
  await page.getByRole('button', { name: '都道府県を保存' }).click();
  await expect(page.locator('#cu-prefecture-error')).toContainText("member 'prefecture'");
  await box.fill('大阪府');
  await page.getByRole('button', { name: '都道府県を保存' }).click();
  await expect(page.getByText('都道府県を保存しました')).toBeVisible();
  const id = new URL(page.url()).searchParams.get('customer_id')!;
  const admin = await srv.client();
  expect((await (await admin.api.get(`/api/v1/customers/${id}`)).json()).prefecture).toBe('大阪府');
  await admin.api.dispose();
  await expectAccessible(page, 'users-prefecture');
  // Back to every customer: the picker's "all" choice.
  await pickCustomer(page, 'us-customer', '', '');
  await expect(page).toHaveURL(/\/users$/);
  await expect(box).toHaveCount(0);
});

test('an analyst adds customer users only and changes no login', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.goto(`${srv.url}/users`);
  const roles = await page.getByLabel('役割').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  expect(roles).toEqual(['customer_admin', 'customer_user']);
  await expect(page.getByRole('heading', { name: '顧客を追加' })).toHaveCount(0);
  await expect(page.locator('table button')).toHaveCount(0);
  await expectAccessible(page, 'users-analyst');
});

test('a technician has no users screen', async ({ page }) => {
  await login(page, srv, 'tech@example.jp', PASSWORD);
  await expect(page.getByRole('navigation').getByRole('link', { name: '顧客と利用者' })).toHaveCount(0);
  await page.goto(`${srv.url}/users`);
  await expect(page.getByTestId('not-found')).toBeVisible();
});
