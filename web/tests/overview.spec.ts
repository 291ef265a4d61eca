// The SOC overview at more customers than it draws at once: the counts come from the server's
// summary (GET /api/v1/overview), the most urgent customer is drawn first even when its name
// sorts last, 100 rows are drawn and "show more" adds the rest, and the search still finds a
// customer that was not drawn.
import { expect, test } from '@playwright/test';
import { expectAccessible, login, PASSWORD, TestServer } from './fixture';

let srv: TestServer;
let red = '';

test.beforeAll(async () => {
  srv = new TestServer();
  red = srv.addCustomer('顧客zz 危険商事');
  await srv.start();
  await srv.createUser('analyst', 'analyst@example.jp');
  const { api, csrf } = await srv.client();
  for (let i = 0; i < 129; i++) {
    const r = await api.post('/api/v1/customers', { headers: { 'X-CSRF-Token': csrf }, data: { name: `顧客${String(i).padStart(4, '0')}` } });
    expect(r.status()).toBe(201);
  }
  await api.dispose();
  srv.sensorReplay(red, 'sensor-red');
  await srv.waitForIncident(red);
});

test.afterAll(async () => {
  await srv.stop();
});

test('the overview draws 100 customers, the most urgent first, and shows more on request', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await expect(page).toHaveURL(/\/overview$/);
  const rows = page.locator('tr[data-customer]');
  await expect(rows).toHaveCount(100);
  await expect(rows.first()).toHaveAttribute('data-customer', red);
  await expect(rows.first().locator('[data-light]')).toHaveAttribute('data-light', 'red');
  // The counts are every customer's, not only the rows drawn.
  await expect(page.getByTestId('count-red')).toHaveText('1');
  await expect(page.getByTestId('count-green')).toHaveText('129');
  await expect(page.getByTestId('overview-shown')).toHaveText('130件中100件を表示');
  await expectAccessible(page, 'overview-paged');
  // A customer beyond the first 100 is found by the search.
  await page.getByLabel('顧客名で検索').fill('顧客0128');
  await expect(rows).toHaveCount(1);
  await expect(page.getByRole('link', { name: '顧客0128' })).toBeVisible();
  await page.getByLabel('顧客名で検索').fill('');
  await page.getByRole('button', { name: 'さらに30件を表示 (残り30件)' }).click();
  await expect(rows).toHaveCount(130);
  await expect(page.getByTestId('overview-shown')).toHaveCount(0);
});
