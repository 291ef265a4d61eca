// The desk (相談窓口) end to end in a real browser against a real server: a customer asks in the
// portal (with an attachment and HTML in the subject), the desk sees it in the console's list with
// its SLA clock, keeps an internal note and answers; the customer sees the answer and never the
// note. The desk writes a canned answer in the FAQ editor, inserts it into a reply from the FAQ
// search box, and the customer's portal lists the public FAQ. Values with HTML are shown as text.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { expectAccessible, login, PASSWORD, screenshots, TestServer } from './fixture';

let srv: TestServer;
let a = '';
const HOSTILE = '<img src=x onerror=window.__pwned=1>見積もりのお願い';

test.beforeAll(async () => {
  srv = new TestServer();
  a = srv.addCustomer('相談商事');
  await srv.start();
  await srv.createUser('desk', 'desk@example.jp');
  await srv.createUser('customer_user', 'taro@a.example.jp', a);
});

test.afterAll(async () => {
  await srv.stop();
});

async function as(browser: Browser, email: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await login(page, srv, email, PASSWORD);
  return page;
}

async function noScriptRan(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await expect(page.locator('img[src="x"]')).toHaveCount(0);
}

test('a customer asks in the portal and sees the desk’s answer, never its internal note', async ({ browser }) => {
  const customer = await as(browser, 'taro@a.example.jp');
  await customer.getByRole('link', { name: 'お問い合わせ' }).click();
  await expect(customer).toHaveURL(/\/portal\/desk$/);
  await expect(customer.getByRole('heading', { name: 'お問い合わせ', level: 1 })).toBeVisible();
  // Nothing is sent without a subject and a body.
  await customer.getByRole('button', { name: '送信する' }).click();
  await expect(customer.locator('#p-subject-error')).toHaveText('入力してください');
  await customer.getByLabel('分類').selectOption('価格');
  await customer.getByLabel('件名').fill(HOSTILE);
  await customer.getByLabel('内容').fill('月額の料金表を送ってください。');
  await customer.getByLabel('添付ファイル').setInputFiles({ name: '構成図.txt', mimeType: 'text/plain', buffer: Buffer.from('ルーター 1台\n') });
  await customer.getByRole('button', { name: '送信する' }).click();
  await expect(customer.getByRole('status')).toContainText('お問い合わせを受け付けました');
  const mine = customer.locator('.ticket-list li').first();
  await expect(mine).toContainText(HOSTILE);
  await noScriptRan(customer);
  // On a phone, nothing is wider than the screen.
  await customer.setViewportSize({ width: 390, height: 844 });
  expect(await customer.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await customer.setViewportSize({ width: 1280, height: 720 });
  await expectAccessible(customer, 'portal-desk');
  await screenshots(customer, 'portal-desk');

  // The desk: the list shows it with a running first-response clock.
  const desk = await as(browser, 'desk@example.jp');
  await desk.getByRole('link', { name: '相談窓口' }).click();
  await expect(desk).toHaveURL(/\/desk$/);
  const row = desk.locator('tr[data-ticket]').filter({ hasText: '見積もりのお願い' });
  await expect(row).toHaveCount(1);
  await expect(row.locator('[data-sla]')).toHaveAttribute('data-sla', 'running');
  await expect(row).toContainText('相談商事');
  await noScriptRan(desk);
  // Filters: a category with nothing in it hides the row; the SLA state "running" shows it.
  await desk.getByLabel('分類').selectOption('申込方法');
  await expect(row).toHaveCount(0);
  await desk.getByLabel('分類').selectOption('');
  await desk.getByLabel('SLA').selectOption('running');
  await expect(row).toHaveCount(1);
  await expectAccessible(desk, 'desk-list');
  await screenshots(desk, 'desk-list');

  await row.getByRole('link').click();
  await expect(desk.getByRole('heading', { level: 1 })).toHaveText(HOSTILE);
  await expect(desk.getByRole('link', { name: '構成図.txt' })).toBeVisible();
  await desk.getByLabel('本文', { exact: true }).fill('社内メモ: 値引きは課長判断');
  await desk.getByRole('button', { name: '社内メモを残す' }).click();
  await expect(desk.getByRole('status')).toHaveText('社内メモを残しました');
  const note = desk.locator('li[data-visibility="internal"]');
  await expect(note).toContainText('値引きは課長判断');
  await expect(note).toContainText('社内メモ (お客様には見えません)');
  await desk.getByLabel('本文', { exact: true }).fill('料金表をお送りします。月額 9,800 円です。');
  await desk.getByRole('button', { name: 'お客様に回答を送る' }).click();
  await expect(desk.getByRole('status')).toHaveText('送信しました');
  await expect(desk.locator('[data-sla]').first()).toHaveAttribute('data-sla', 'met');
  // The two kinds look different.
  const bg = async (sel: string) => desk.locator(sel).last().evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(await bg('li[data-visibility="internal"]')).not.toEqual(await bg('li[data-visibility="public"]'));
  await noScriptRan(desk);
  await expectAccessible(desk, 'desk-ticket');
  await screenshots(desk, 'desk-ticket');

  // The customer sees the answer, not the note, and can reply.
  await customer.reload();
  await customer.locator('.ticket-list a').first().click();
  await expect(customer.getByText('月額 9,800 円です。')).toBeVisible();
  await expect(customer.getByText('値引きは課長判断')).toHaveCount(0);
  await expect(customer.locator('li[data-visibility="internal"]')).toHaveCount(0);
  expect(await customer.content()).not.toContain('課長');
  await customer.getByLabel('本文', { exact: true }).fill('ありがとうございました。');
  await customer.getByRole('button', { name: '返信を送る' }).click();
  await expect(customer.getByRole('status')).toHaveText('送信しました');
  await expect(customer.locator('li[data-visibility="public"]')).toHaveCount(3);
  await noScriptRan(customer);
  await customer.context().close();
  await desk.context().close();
});

test('the desk writes a canned answer and inserts it into a reply; the portal lists the public FAQ', async ({ browser }) => {
  const desk = await as(browser, 'desk@example.jp');
  await desk.goto(`${srv.url}/desk/faq`);
  await expect(desk.getByRole('heading', { name: 'よくある質問 (定型回答)', level: 1 })).toBeVisible();
  await desk.getByRole('button', { name: '保存する' }).click();
  await expect(desk.locator('#f-question-error')).toHaveText('入力してください');
  await desk.getByLabel('質問', { exact: true }).fill('<b>料金</b>はいくらですか');
  await desk.getByLabel('回答', { exact: true }).fill('1台あたり月額 2,000 円（税別）です。');
  await desk.getByLabel('分類').selectOption('価格');
  await desk.getByLabel('タグ (読点または , 区切り)').fill('料金、価格');
  await desk.getByLabel('お客様のポータルに公開する').check();
  await desk.getByRole('button', { name: '保存する' }).click();
  await expect(desk.getByRole('status')).toContainText('を保存しました');
  await desk.getByLabel('質問', { exact: true }).fill('値引きの社内基準');
  await desk.getByLabel('回答', { exact: true }).fill('10台以上で課長判断（社外秘）。');
  await desk.getByRole('button', { name: '保存する' }).click();
  await expect(desk.locator('tr[data-faq]')).toHaveCount(2);
  await expect(desk.locator('tr[data-faq]').filter({ hasText: '<b>料金</b>はいくらですか' })).toHaveCount(1);
  await expect(desk.locator('b', { hasText: '料金' })).toHaveCount(0);
  await expectAccessible(desk, 'faq-editor');
  await screenshots(desk, 'faq-editor');

  // A question by the API as the customer; the desk answers it with the canned answer.
  const customer = await as(browser, 'taro@a.example.jp');
  await customer.goto(`${srv.url}/portal/desk`);
  await customer.getByLabel('件名').fill('台数による料金');
  await customer.getByLabel('内容').fill('5台の場合の料金は?');
  await customer.getByRole('button', { name: '送信する' }).click();
  await expect(customer.getByRole('status')).toContainText('お問い合わせを受け付けました');
  // The public FAQ only: the internal entry is not there.
  const faq = customer.locator('details.faq');
  await expect(faq).toHaveCount(1);
  await expect(faq.locator('summary')).toHaveText('<b>料金</b>はいくらですか');
  await expect(customer.getByText('社外秘')).toHaveCount(0);

  await desk.goto(`${srv.url}/desk`);
  await desk.locator('tr[data-ticket]').filter({ hasText: '台数による料金' }).getByRole('link').click();
  await desk.getByLabel('よくある質問を検索').fill('料金');
  await desk.getByRole('button', { name: '検索', exact: true }).click();
  const hit = desk.locator('.faq-hits li').first();
  await expect(hit).toContainText('<b>料金</b>はいくらですか');
  await hit.getByRole('button', { name: '回答に挿入' }).click();
  await expect(desk.getByLabel('本文', { exact: true })).toHaveValue('1台あたり月額 2,000 円（税別）です。');
  await desk.getByRole('button', { name: 'お客様に回答を送る' }).click();
  await expect(desk.getByRole('status')).toHaveText('送信しました');

  await customer.locator('.ticket-list a', { hasText: '台数による料金' }).click();
  await expect(customer.getByText('1台あたり月額 2,000 円（税別）です。')).toBeVisible();
  await customer.context().close();
  await desk.context().close();
});
