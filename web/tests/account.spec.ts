// The account screen: changing one's password (form errors in Japanese that send nothing, a
// wrong current password refused), TOTP enrolment with a QR code that a real reader decodes
// (zbarimg) and an authenticator code confirms, and API tokens made, used and revoked.
import { expect, request, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ARTIFACTS, expectAccessible, login, PASSWORD, screenshots, TestServer, totp } from './fixture';

let srv: TestServer;

test.beforeAll(async () => {
  srv = new TestServer();
  const c = srv.addCustomer('口座商事');
  await srv.start();
  await srv.createUser('analyst', 'analyst@example.jp');
  await srv.createUser('analyst', 'mover@example.jp');
  await srv.createUser('technician', 'totp@example.jp');
  await srv.createUser('customer_user', 'user@c.example.jp', c);
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

test('the account screen is in the menu and accessible', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.getByRole('navigation').getByRole('link', { name: 'アカウント' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: 'アカウント', level: 1 })).toBeVisible();
  await expect(page.locator('.facts')).toContainText('analyst@example.jp');
  await expect(page.locator('.facts')).toContainText('アナリスト');
  await expectAccessible(page, 'account');
  await screenshots(page, 'account');
});

test('a password change: errors in Japanese send nothing, a wrong current one is refused, the right one works', async ({ page }) => {
  await login(page, srv, 'mover@example.jp', PASSWORD);
  await page.goto(`${srv.url}/account`);
  const sent: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/v1/me/password')) sent.push(r.method());
  });
  const submit = page.getByRole('button', { name: 'パスワードを変更' });
  await submit.click();
  await expect(page.locator('#pw-current-error')).toHaveText('入力してください');
  await expect(page.locator('#pw-next-error')).toHaveText('入力してください');
  await page.getByLabel('現在のパスワード').fill(PASSWORD);
  await page.getByLabel('新しいパスワード', { exact: true }).fill('short');
  await submit.click();
  await expect(page.locator('#pw-next-error')).toHaveText('新しいパスワードは12文字以上にしてください');
  await page.getByLabel('新しいパスワード', { exact: true }).fill('a brand new password 2');
  await page.getByLabel('新しいパスワード (確認)').fill('a brand new password 3');
  await submit.click();
  await expect(page.locator('#pw-again-error')).toHaveText('確認用のパスワードが一致しません');
  expect(sent).toEqual([]);

  // The server refuses a wrong current password; nothing changes.
  await page.getByLabel('現在のパスワード').fill('not my password at all');
  await page.getByLabel('新しいパスワード (確認)').fill('a brand new password 2');
  await submit.click();
  await expect(page.locator('#pw-current-error')).toHaveText('現在のパスワードが違います');
  expect(sent).toEqual(['POST']);
  expect(await loginStatus('mover@example.jp', PASSWORD)).toBe(200);

  await page.getByLabel('現在のパスワード').fill(PASSWORD);
  await submit.click();
  await expect(page.getByRole('status')).toHaveText('パスワードを変更しました');
  await expect(page.getByLabel('現在のパスワード')).toHaveValue('');
  expect(await loginStatus('mover@example.jp', PASSWORD)).toBe(401);
  expect(await loginStatus('mover@example.jp', 'a brand new password 2')).toBe(200);
  // This session stays.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'アカウント', level: 1 })).toBeVisible();
});

test('TOTP enrolment: the QR code decodes to the secret, a code turns it on, login then asks for one', async ({ page }) => {
  await login(page, srv, 'totp@example.jp', PASSWORD);
  await page.goto(`${srv.url}/account`);
  await expect(page.getByTestId('totp-state')).toContainText('未設定');
  await page.getByRole('button', { name: '2段階認証を設定する' }).click();
  const qr = page.getByTestId('totp-qr');
  await expect(qr).toBeVisible();
  await expect(qr).toHaveAttribute('aria-label', '認証アプリに登録する QR コード');
  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  expect(secret).toMatch(/^[A-Z2-7]{16,}=*$/);
  await expectAccessible(page, 'account-totp');

  // A real QR reader decodes the drawn code to the otpauth address with the shown secret.
  const shot = path.join(ARTIFACTS, 'screenshots', 'totp-qr.png');
  await qr.screenshot({ path: shot });
  const decoded = execFileSync('zbarimg', ['--raw', '-q', shot], { encoding: 'utf8' }).trim();
  const url = new URL(decoded);
  expect(url.protocol).toBe('otpauth:');
  expect(url.searchParams.get('secret')).toBe(secret);
  expect(url.searchParams.get('issuer')).toBe('Mimamori');

  const code = page.getByLabel('確認コード (6桁)');
  await code.fill('123');
  await page.getByRole('button', { name: '確認して有効にする' }).click();
  await expect(page.locator('#totp-code-error')).toHaveText('確認コードは6桁の数字です');
  const right = totp(secret);
  await code.fill(String((Number(right) + 500000) % 1000000).padStart(6, '0'));
  await page.getByRole('button', { name: '確認して有効にする' }).click();
  await expect(page.locator('#totp-code-error')).toHaveText(/確認コードが違います/);
  expect((await (await page.request.get(`${srv.url}/api/v1/me`)).json()).totp_enabled).toBe(false);

  await code.fill(right);
  await page.getByRole('button', { name: '確認して有効にする' }).click();
  await expect(page.getByTestId('totp-state')).toContainText('有効');
  expect((await (await page.request.get(`${srv.url}/api/v1/me`)).json()).totp_enabled).toBe(true);

  // The next login needs a code from the same secret (the next step: the current one is used).
  await page.getByRole('button', { name: 'ログアウト' }).click();
  await login(page, srv, 'totp@example.jp', PASSWORD, true);
  await page.getByLabel('確認コード (6桁)').fill(totp(secret, 1));
  await page.getByRole('button', { name: '確認' }).click();
  await expect(page).toHaveURL(/\/overview$/);
});

test('API tokens: a name is required, the token is shown once and works, revoking stops it', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.goto(`${srv.url}/account`);
  await page.getByRole('button', { name: 'トークンを作る' }).click();
  await expect(page.locator('#token-name-error')).toHaveText('入力してください');
  expect((await (await page.request.get(`${srv.url}/api/v1/tokens`)).json()).items).toEqual([]);

  await page.getByLabel('トークンの名前').fill('監視スクリプト <b>');
  await page.getByRole('button', { name: 'トークンを作る' }).click();
  const token = (await page.getByTestId('new-token').textContent())!.trim();
  expect(token.length).toBeGreaterThan(20);
  const row = page.locator('tr[data-token]');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('監視スクリプト <b>'); // shown as text
  await expect(row).toContainText('有効');

  const api = await request.newContext({ baseURL: srv.url, ignoreHTTPSErrors: true });
  const bearer = { Authorization: `Bearer ${token}` };
  const me = await api.get('/api/v1/me', { headers: bearer });
  expect(me.status()).toBe(200);
  expect((await me.json()).email).toBe('analyst@example.jp');

  // The token is not shown again after a reload.
  await page.reload();
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  page.once('dialog', (d) => void d.accept());
  await row.getByRole('button', { name: '無効にする' }).click();
  await expect(row).toContainText('失効');
  expect((await api.get('/api/v1/me', { headers: bearer })).status()).toBe(401);
  await api.dispose();
});

test('a customer user has no second-factor card and no audit log', async ({ page }) => {
  await login(page, srv, 'user@c.example.jp', PASSWORD);
  await page.getByRole('navigation').getByRole('link', { name: 'アカウント' }).click();
  await expect(page.getByRole('heading', { name: 'パスワードの変更' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'API トークン' })).toBeVisible();
  await expect(page.getByRole('heading', { name: '2段階認証 (TOTP)' })).toHaveCount(0);
  await expect(page.getByRole('navigation').getByRole('link', { name: '監査ログ' })).toHaveCount(0);
  await page.goto(`${srv.url}/audit`);
  await expect(page.getByTestId('not-found')).toBeVisible();
  await expectAccessible(page, 'account-customer');
});
