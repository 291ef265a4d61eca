// An analyst triages a real incident (from sensor EVE of a corpus capture) end to end, by mouse
// and by keyboard alone; the customer's portal goes from 危険 to 安全; another customer's user
// opening that incident's address gets the not-found page and the attempt is audited.
import { expect, test, type Page } from '@playwright/test';
import { expectAccessible, login, PASSWORD, pickCustomer, screenshots, TestServer } from './fixture';

let srv: TestServer;
let a = '';
let incident = '';

test.beforeAll(async () => {
  srv = new TestServer();
  a = srv.addCustomer('見守り商事');
  const b = srv.addCustomer('別会社');
  srv.addCustomer('静かな工業');
  await srv.start();
  await srv.createUser('analyst', 'analyst@example.jp');
  await srv.createUser('customer_admin', 'owner@a.example.jp', a);
  await srv.createUser('customer_user', 'user@b.example.jp', b);
  srv.sensorReplay(a, 'sensor-a');
  incident = await srv.waitForIncident(a);
});

test.afterAll(async () => {
  await srv.stop();
});

async function portalState(page: Page) {
  return page.getByTestId('portal-status');
}

test('the customer portal shows 危険 with the incident in plain Japanese', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 }); // a phone
  await login(page, srv, 'owner@a.example.jp', PASSWORD);
  await expect(page).toHaveURL(/\/portal$/);
  await expect(await portalState(page)).toHaveAttribute('data-light', 'red');
  await expect(await portalState(page)).toContainText('危険');
  const item = page.locator(`[data-incident="${incident}"]`);
  for (const heading of ['何が起きたか', 'どのくらい危険か', '今すぐすること']) {
    await expect(item.getByText(heading, { exact: true })).toBeVisible();
  }
  await expect(item.getByRole('button', { name: 'こちらで対応しました' })).toBeVisible();
  await expect(item.getByRole('button', { name: '助けを求める' })).toBeVisible();
  await expect(page.getByText('見守り中')).toBeVisible();
  // Nothing wider than the phone's screen.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(390);
  await expectAccessible(page, 'portal');
  await screenshots(page, 'portal');
});

test('the overview shows the customer red and the quiet ones green', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await expect(page).toHaveURL(/\/overview$/);
  await expect(page.locator(`[data-customer="${a}"] [data-light]`)).toHaveAttribute('data-light', 'red');
  await expect(page.getByTestId('count-red')).toHaveText('1');
  await expect(page.getByTestId('count-green')).toHaveText('2');
  await page.getByLabel('状態', { exact: true }).selectOption('green');
  await expect(page.locator(`[data-customer="${a}"]`)).toHaveCount(0);
  await expect(page.getByRole('link', { name: '静かな工業' })).toBeVisible();
  await page.getByLabel('状態', { exact: true }).selectOption('');
  await expectAccessible(page, 'overview');
  await screenshots(page, 'overview');
});

test('the queue is usable by keyboard alone', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.goto(`${srv.url}/incidents`);
  const row = page.locator(`tr[data-incident="${incident}"]`);
  await expect(row).toBeVisible();
  await expectAccessible(page, 'queue');
  await screenshots(page, 'queue');
  // The row names its customer; the customer filter searches as one types and filters the queue.
  await expect(row).toContainText('見守り商事');
  await pickCustomer(page, 'q-customer_id', '別会社', '別会');
  await expect(page).toHaveURL(/customer_id=/);
  await expect(row).toHaveCount(0);
  await pickCustomer(page, 'q-customer_id', '見守り', '見守り');
  await expect(row).toBeVisible();
  // Tab from the page into the table: the current row takes the focus.
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  for (let i = 0; i < 30 && !(await row.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(row).toBeFocused();
  await page.keyboard.press('x');
  await expect(row).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('m'); // assign to me
  await expect(page.getByRole('status')).toHaveText('自分に割り当てました');
  await row.focus();
  await page.keyboard.press('x');
  await page.keyboard.press('a'); // acknowledge the selection
  await expect(page.getByRole('status')).toHaveText('1 件を確認済みにしました');
  const [x] = (await srv.incidents(a)).filter((i) => i.id === incident);
  expect(x!.status).toBe('acknowledged');
  // The open queue no longer lists it; the acknowledged one does, and Enter opens it.
  await page.getByLabel('対応状況').selectOption('acknowledged');
  await expect(row).toBeVisible();
  await row.focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/incidents/${incident}$`));
});

test('an analyst triages the incident: acknowledge, comment, close; the portal goes 安全', async ({ page, browser }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.goto(`${srv.url}/incidents/${incident}`);
  await expect(page.getByText('何が起きたか')).toBeVisible();
  await expectAccessible(page, 'incident');
  await screenshots(page, 'incident');
  // Raw events behind the grouped alert.
  await page.getByRole('button', { name: '元のイベントを見る' }).first().click();
  await expect(page.locator('pre.json')).toContainText('"signature": "MIMAMORI WEB TEST TCP traffic"');
  // Suppress similar: the preview lists the past alerts the rule would hide; nothing is saved
  // before the button, and a missing reason is refused in Japanese.
  await page.getByRole('button', { name: '似たアラートを抑制' }).first().click();
  await page.getByRole('button', { name: '過去に該当したアラートを確認' }).click();
  await expect(page.getByTestId('suppress-preview')).toContainText(/過去のアラート [1-9]\d* 件が非表示/);
  await page.getByRole('button', { name: 'ルールを保存' }).click();
  await expect(page.locator('.suppress .field-error')).toHaveText('入力してください');
  const { api } = await srv.client();
  expect((await (await api.get('/api/v1/suppressions')).json()).items).toEqual([]);

  if ((await srv.incidents(a)).find((i) => i.id === incident)!.status === 'open') {
    await page.getByRole('button', { name: '確認済みにする' }).click();
  }
  await expect(page.locator('.meta')).toContainText('確認済み');
  await page.getByLabel('コメント').fill('送信元の端末を確認中です');
  await page.getByRole('button', { name: 'コメントする' }).click();
  await expect(page.locator('.timeline')).toContainText('送信元の端末を確認中です');
  // Closing needs a reason: without one, an error in Japanese and the incident stays open.
  await page.getByRole('button', { name: 'クローズする' }).click();
  await expect(page.locator('#f-close-error')).toHaveText('入力してください');
  expect((await srv.incidents(a)).find((i) => i.id === incident)!.status).not.toBe('closed');
  await page.getByLabel('クローズの理由 (解決内容)').fill('検証用の通信と確認しました');
  await page.getByRole('button', { name: 'クローズする' }).click();
  await expect(page.locator('.meta')).toContainText('クローズ');
  expect((await srv.incidents(a)).find((i) => i.id === incident)!.status).toBe('closed');
  await api.dispose();

  const customer = await browser.newPage();
  await login(customer, srv, 'owner@a.example.jp', PASSWORD);
  await expect(await portalState(customer)).toHaveAttribute('data-light', 'green');
  await expect(await portalState(customer)).toContainText('安全');
  await customer.close();
});

test("another customer's user gets the not-found page, and the attempt is audited", async ({ page }) => {
  await login(page, srv, 'user@b.example.jp', PASSWORD);
  await expect(page).toHaveURL(/\/portal$/);
  await page.goto(`${srv.url}/incidents/${incident}`);
  await expect(page.getByTestId('not-found')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'ページが見つかりません' })).toBeVisible();
  await expect(page.getByText('見守り商事')).toHaveCount(0);
  const denied = (await srv.audit()).filter((e) => e.action === 'incident.read' && e.object_id === incident);
  expect(denied.length).toBeGreaterThan(0);
  expect(denied.every((e) => e.outcome === 'denied')).toBe(true);
  await expectAccessible(page, 'not-found');
});
