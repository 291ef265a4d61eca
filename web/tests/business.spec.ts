// The business screens against a real server: a plan that breaks the price rules shows each
// broken rule in Japanese and is not saved as registered; fixed, it is saved and listed as
// compliant; a contract on it shows its price and the IT導入補助金 estimate; the monthly report
// downloads as a PDF; the self-check shows each requirement with its evidence.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ADMIN, expectAccessible, login, pickCustomer, screenshots, TestServer } from './fixture';

let srv: TestServer;
let a = '';

test.beforeAll(async () => {
  srv = new TestServer();
  a = srv.addCustomer('丸の内商店');
  srv.addCustomer('別会社');
  await srv.start();
});

test.afterAll(async () => {
  await srv.stop();
});

test('a plan over the price cap shows its broken rules and is not registered; fixed, it is', async ({ page }) => {
  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: 'プラン' }).click();
  await expect(page).toHaveURL(/\/plans$/);
  await page.getByRole('button', { name: 'プランを作成' }).first().click();
  await page.getByLabel('プラン名').fill('端末みまもり');
  await page.getByLabel('類型').selectOption('endpoint');
  await page.getByLabel('1台あたり月額 (円)').fill('2500');
  await page.getByLabel('相談窓口の受付時間').fill('平日 9:00-18:00');
  await page.getByLabel('駆け付けの条件').fill('要請から24時間以内');
  await page.getByLabel('保険の補償額 (円)').fill('1000000');
  await page.getByLabel('約款: 初期費用').fill('無料');
  await page.getByLabel('約款: 契約期間の条件').fill('1年ごとの自動更新');
  await page.getByLabel('約款: 中途解約の違約金').fill('なし');
  await page.getByLabel('約款: 解約の権利').fill('いつでも解約できます');
  await page.getByLabel('状態').selectOption('registered');
  await page.getByRole('button', { name: '保存' }).click();
  // Refused with the broken rule, in Japanese, with the plan's value and the limit.
  const rule = page.locator('#plan-compliance li[data-rule="price.endpoint"]');
  await expect(rule).toBeVisible();
  await expect(rule).toContainText('¥2,500');
  await expect(rule).toContainText('¥2,000');
  await expect(page.locator('#plan-compliance')).toContainText('満たしていない基準が 1 件');
  await expect(page.locator('#plans tbody tr[data-row]')).toHaveCount(0); // nothing saved
  await expectAccessible(page, 'plan-editor');

  await page.getByLabel('1台あたり月額 (円)').fill('1800');
  await page.getByRole('button', { name: '基準を点検' }).click();
  await expect(page.locator('#plan-compliance')).toContainText('すべて満たしています');
  await page.getByRole('button', { name: '保存' }).click();
  const row = page.locator('#plans tbody tr[data-row]');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('端末みまもり');
  await expect(row).toContainText('登録済み');
  await expect(row).toContainText('適合');
  await expect(row).toContainText('¥1,800');
  await screenshots(page, 'plans');
});

test('a contract shows its price and the subsidy estimate; the list filters', async ({ page }) => {
  const admin = await srv.client();
  const plans = (await (await admin.api.get('/api/v1/plans')).json()) as { items: { id: string; name: string }[] };
  const plan = plans.items.find((p) => p.name === '端末みまもり');
  expect(plan).toBeTruthy();
  const r = await admin.api.post('/api/v1/contracts', {
    headers: { 'X-CSRF-Token': admin.csrf },
    data: { customer_id: a, plan_id: plan!.id, devices: 3, start_date: '2026-04-01', insurance_policy: 'POL-77', insurance_until: '2099-03-31' },
  });
  expect(r.status(), await r.text()).toBe(201);
  await admin.api.dispose();

  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: '契約' }).click();
  const row = page.locator('#contracts tbody tr[data-row]');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('丸の内商店');
  await expect(row).toContainText('¥5,400'); // ¥1,800 × 3
  // 2026: ¥5,400 × 24 months = ¥129,600, half of it subsidised.
  await expect(row.locator('[data-subsidy]')).toHaveAttribute('data-subsidy', '64800');
  await expect(row).toContainText('補助 ¥64,800');
  await page.getByLabel('絞り込み').fill('別会社');
  await expect(row).toHaveCount(0);
  await page.getByLabel('絞り込み').fill('丸の内');
  await expect(row).toHaveCount(1);
  await expectAccessible(page, 'contracts');
  await screenshots(page, 'contracts');
});

test('the monthly report downloads as a PDF; its mail can be turned off and sent now', async ({ page }) => {
  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: '月次レポート' }).click();
  // No customer is chosen until one is picked (the picker searches; no list of every customer).
  await expect(page.getByText('顧客と月を選んでください')).toBeVisible();
  await pickCustomer(page, 'r-customer', '丸の内商店', '丸の内');
  await page.getByLabel('対象月').fill('2026-11');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'PDF をダウンロード' }).click()]);
  expect(download.suggestedFilename()).toBe(`mimamori-report-${a}-2026-11.pdf`);
  const file = await download.path();
  const bytes = readFileSync(file!);
  expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
  const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file!, '-'], { encoding: 'utf8' });
  expect(text).toContain('丸の内商店');
  expect(text).toContain('2026年11月');
  // The mail setting of this customer, and "send now" (no e-mail contact yet: said so).
  const mail = page.getByLabel('毎月1日に前月のレポートをメールで送る');
  await expect(mail).toBeChecked();
  // The box shows what the server stored: it turns off once the server has answered.
  await mail.click();
  await expect(mail).not.toBeChecked();
  const admin = await srv.client();
  expect(await (await admin.api.get(`/api/v1/customers/${a}/report-mail`)).json()).toEqual({ customer_id: a, enabled: false });
  await admin.api.dispose();
  await page.getByRole('button', { name: 'この月のレポートを今すぐ送る' }).click();
  await expect(page.locator('#r-sent')).toHaveText('メールの宛先 (通知チャネル) がありません');
  await expectAccessible(page, 'reports');
});

test('the self-check shows each requirement with its evidence, met only on evidence', async ({ page }) => {
  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.getByRole('navigation').getByRole('link', { name: '登録要件の自己点検' }).click();
  await expect(page.locator('#selfcheck-summary')).toBeVisible();
  await expect(page.locator('[data-check]')).toHaveCount(10);
  await expect(page.locator('[data-check="price"]')).toHaveAttribute('data-status', 'met');
  await expect(page.locator('[data-check="record"]')).toHaveAttribute('data-status', 'met');
  // Judged from the data: the customer under contract has no prefecture recorded.
  await expect(page.locator('[data-check="dispatch"]')).toHaveAttribute('data-status', 'unmet');
  await expect(page.getByText(/所在の都道府県が未登録の顧客: 丸の内商店/)).toBeVisible();
  // The test server has no inbound mail and sends no notifications.
  await expect(page.locator('[data-check="desk"]')).toHaveAttribute('data-status', 'unmet');
  await expect(page.locator('[data-check="monitoring"]')).toHaveAttribute('data-status', 'unmet');
  await expect(page.getByText('メール受付: 無効 (desk.mail_enabled: false)')).toBeVisible();
  await expectAccessible(page, 'self-check');
  await screenshots(page, 'self-check');
});

test('the catalogue lists IPA\'s registered services beside the plans', async ({ page }) => {
  await login(page, srv, ADMIN.email, ADMIN.password);
  await page.goto(srv.url + '/statistics');
  const table = page.locator('#registered-services');
  await expect(table.getByRole('cell', { name: '防検サイバー', exact: true })).toBeVisible();
  await expect(table.getByRole('row', { name: /CSPサイバーガード セントラル警備保障株式会社/ })).toContainText('ネットワーク一括監視型');
  await expect(table.getByRole('row')).toHaveCount(13); // the header and the 12 shipped services
  await expectAccessible(page, 'registered services');
});
