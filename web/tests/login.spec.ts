// Login with and without TOTP, and form errors in Japanese that save nothing.
import { expect, test } from '@playwright/test';
import { expectAccessible, login, PASSWORD, screenshots, TestServer, totp } from './fixture';

let srv: TestServer;
let totpSecret = '';

test.beforeAll(async () => {
  srv = new TestServer();
  srv.addCustomer('ログイン商事');
  await srv.start();
  await srv.createUser('analyst', 'analyst@example.jp');
  await srv.createUser('analyst', 'totp@example.jp');
  totpSecret = await srv.enableTotp('totp@example.jp', PASSWORD);
});

test.afterAll(async () => {
  await srv.stop();
});

test('the console is served at / with a strict policy and hashed, immutable assets', async ({ page }) => {
  const res = await page.goto(`${srv.url}/`);
  expect(res?.status()).toBe(200);
  const csp = res!.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(res!.headers()['cache-control']).toBe('no-cache');
  const script = await page.locator('script[type=module]').getAttribute('src');
  expect(script).toMatch(/^\/assets\/index-[\w-]+\.js$/);
  const asset = await page.request.get(`${srv.url}${script}`);
  expect(asset.headers()['cache-control']).toContain('immutable');
  // No inline script in the page.
  expect(await page.locator('script:not([src])').count()).toBe(0);
  // An address of the app's own router is the same page.
  const deep = await page.request.get(`${srv.url}/incidents/inc_does_not_matter`);
  expect(deep.status()).toBe(200);
  expect(await deep.text()).toContain(script!);
});

test('login without TOTP leads an analyst to the overview', async ({ page }) => {
  await page.goto(`${srv.url}/`);
  await expect(page).toHaveURL(/\/login$/);
  await expectAccessible(page, 'login');
  await screenshots(page, 'login');
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await expect(page).toHaveURL(/\/overview$/);
  await expect(page.getByRole('heading', { name: '全体概況' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'ログイン商事' })).toBeVisible();
});

test('form errors are shown in Japanese and nothing is sent', async ({ page }) => {
  await page.goto(`${srv.url}/login`);
  const sent: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/login')) sent.push(r.url());
  });
  await page.getByRole('button', { name: 'ログイン' }).click();
  await expect(page.getByText('メールアドレスを入力してください')).toBeVisible();
  await expect(page.getByText('パスワードを入力してください')).toBeVisible();
  await page.getByLabel('メールアドレス').fill('not-an-address');
  await page.getByRole('button', { name: 'ログイン' }).click();
  await expect(page.getByText('メールアドレスの形式が正しくありません')).toBeVisible();
  expect(sent).toEqual([]);
  // A wrong password reaches the server and is refused in Japanese; no session is made.
  await login(page, srv, 'analyst@example.jp', 'wrong password here', true);
  await expect(page.getByRole('alert')).toHaveText('メールアドレスまたはパスワードが違います');
  await expect(page).toHaveURL(/\/login$/);
  const me = await page.request.get(`${srv.url}/api/v1/me`);
  expect(me.status()).toBe(401);
});

test('login with TOTP asks for the code, refuses a wrong one, accepts the right one', async ({ page }) => {
  await login(page, srv, 'totp@example.jp', PASSWORD, true);
  const code = page.getByLabel('確認コード (6桁)');
  await expect(code).toBeVisible();
  await expectAccessible(page, 'login-totp');
  await code.fill('12');
  await page.getByRole('button', { name: '確認' }).click();
  await expect(page.getByText('確認コードは6桁の数字です')).toBeVisible();
  const right = totp(totpSecret);
  const wrong = String((Number(right) + 500000) % 1000000).padStart(6, '0');
  await code.fill(wrong);
  await page.getByRole('button', { name: '確認' }).click();
  await expect(page.getByRole('alert')).toHaveText(/確認コードが違います/);
  // The code of the next 30-second step: the current step may be the one the fixture's
  // confirmation used up, and a used step is refused as a replay.
  await code.fill(totp(totpSecret, 1));
  await page.getByRole('button', { name: '確認' }).click();
  await expect(page).toHaveURL(/\/overview$/);
});
