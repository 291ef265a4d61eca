// The audit-log screen: what real requests left in the log, filtered by outcome, action and
// customer, paged; a customer admin sees only their organisation's entries (not another
// organisation's, not the attempt that another customer's admin made on theirs).
import { expect, request, test } from '@playwright/test';
import { ADMIN, expectAccessible, login, PASSWORD, pickCustomer, screenshots, TestServer } from './fixture';

let srv: TestServer;
let a = '';
let b = '';

test.beforeAll(async () => {
  srv = new TestServer();
  a = srv.addCustomer('監査商事');
  b = srv.addCustomer('別監査');
  await srv.start();
  await srv.createUser('analyst', 'analyst@example.jp');
  await srv.createUser('customer_admin', 'owner@a.example.jp', a);
  await srv.createUser('customer_admin', 'owner@b.example.jp', b);
  // A's admin adds a user to A.
  const owner = await srv.client('owner@a.example.jp', PASSWORD);
  const r = await owner.api.post('/api/v1/users', {
    headers: { 'X-CSRF-Token': owner.csrf },
    data: { email: 'staff@a.example.jp', name: 'staff', password: PASSWORD, role: 'customer_user', customer_id: a },
  });
  expect(r.status()).toBe(201);
  await owner.api.dispose();
  // B's admin tries to read A: refused as not found, audited under B.
  const other = await srv.client('owner@b.example.jp', PASSWORD);
  expect((await other.api.get(`/api/v1/customers/${a}`)).status()).toBe(404);
  await other.api.dispose();
  // A wrong password for A's admin.
  const anon = await request.newContext({ baseURL: srv.url, ignoreHTTPSErrors: true });
  expect((await anon.post('/api/v1/login', { data: { email: 'owner@a.example.jp', password: 'wrong wrong wrong' } })).status()).toBe(401);
  await anon.dispose();
  // 55 tokens of the analyst, for the pages.
  const analyst = await srv.client('analyst@example.jp', PASSWORD);
  for (let i = 0; i < 55; i++) {
    const t = await analyst.api.post('/api/v1/tokens', { headers: { 'X-CSRF-Token': analyst.csrf }, data: { name: `t${i}` } });
    expect(t.status()).toBe(201);
  }
  await analyst.api.dispose();
});

test.afterAll(async () => {
  await srv.stop();
});

test('the provider admin filters the log by outcome, action and customer', async ({ page }) => {
  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: '監査ログ' }).click();
  await expect(page).toHaveURL(/\/audit$/);
  const rows = page.locator('[data-testid="audit-table"] tbody tr[data-action]');
  await expect(rows.first()).toBeVisible();
  await expectAccessible(page, 'audit');
  await screenshots(page, 'audit');

  await page.getByLabel('結果').selectOption('denied');
  await expect(page).toHaveURL(/outcome=denied/);
  await expect(rows.filter({ hasNotText: '拒否' })).toHaveCount(0);
  await expect(page.locator('tr[data-action="customer.read"]')).toHaveCount(1);
  await expect(page.locator('tr[data-action="auth.login"][data-outcome="denied"]')).toHaveCount(1);
  const login_row = page.locator('tr[data-action="auth.login"][data-outcome="denied"]');
  await login_row.getByText('表示').click();
  await expect(login_row.locator('pre.diff')).toContainText('bad credentials');

  // B's denied read is listed under B.
  await pickCustomer(page, 'a-customer', '別監査', '別');
  await expect(page).toHaveURL(new RegExp(`customer_id=${b}`));
  await expect(page.locator('tr[data-action="customer.read"]')).toContainText('別監査');
  await expect(page.locator('tr[data-action="auth.login"][data-outcome="denied"]')).toHaveCount(0);

  // Action filter, typed; the outcome filter goes back to all.
  await pickCustomer(page, 'a-customer', '', '');
  await expect(page).not.toHaveURL(/customer_id=/);
  await page.getByLabel('結果').selectOption('');
  await page.getByLabel('操作', { exact: true }).fill('user.create');
  await page.getByRole('button', { name: '絞り込む' }).click();
  await expect(page).toHaveURL(/action=user\.create/);
  await expect(rows.filter({ hasText: 'staff@a.example.jp' }).or(rows.filter({ hasText: 'owner@a.example.jp' })).first()).toBeVisible();
  const actions = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
  expect(actions.length).toBeGreaterThan(0);
  expect(new Set(actions)).toEqual(new Set(['user.create']));
});

test('the log is paged by 50', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.goto(`${srv.url}/audit?actor=analyst%40example.jp&action=api_token.create`);
  const rows = page.locator('[data-testid="audit-table"] tbody tr[data-action]');
  await expect(rows).toHaveCount(50);
  await expect(page.getByLabel('操作した人')).toHaveValue('analyst@example.jp');
  await page.getByRole('button', { name: '次へ' }).click();
  await expect(page.getByText('2 ページ目')).toBeVisible();
  await expect(rows).toHaveCount(5);
  await expect(page.getByRole('button', { name: '次へ' })).toBeDisabled();
  await page.getByRole('button', { name: '前へ' }).click();
  await expect(rows).toHaveCount(50);
});

test("a customer admin sees their organisation's entries only", async ({ page }) => {
  await login(page, srv, 'owner@a.example.jp', PASSWORD);
  await page.getByRole('navigation').getByRole('link', { name: '監査ログ' }).click();
  const rows = page.locator('[data-testid="audit-table"] tbody tr[data-action]');
  await expect(rows.filter({ hasText: 'staff@a.example.jp' }).first()).toBeVisible();
  await expect(page.locator('tr[data-action="auth.login"][data-outcome="denied"]')).toHaveCount(1);
  // B's attempt on A, B's users and the analyst's tokens are not A's business.
  await expect(page.locator('tr[data-action="customer.read"]')).toHaveCount(0);
  await expect(rows.filter({ hasText: 'owner@b.example.jp' })).toHaveCount(0);
  await expect(page.locator('tr[data-action="api_token.create"]')).toHaveCount(0);
  // No customer filter or column for a customer.
  await expect(page.getByLabel('顧客')).toHaveCount(0);
  await expectAccessible(page, 'audit-customer');
  // Asking for B's entries by address gives nothing of B.
  await page.goto(`${srv.url}/audit?customer_id=${b}`);
  await expect(page.locator('tr[data-action="customer.read"]')).toHaveCount(0);
});
