// Devices: enroll from the console (a code and the install commands), then a real
// `mimamori-agent enroll` with that code; form errors in Japanese with nothing saved; revoke.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { bin, expectAccessible, login, PASSWORD, screenshots, TestServer } from './fixture';

let srv: TestServer;
let customer = '';

test.beforeAll(async () => {
  srv = new TestServer();
  customer = srv.addCustomer('機器テスト商事');
  await srv.start();
  await srv.createUser('analyst', 'analyst@example.jp');
});

test.afterAll(async () => {
  await srv.stop();
});

test('enroll a device from the console, then a real agent enrolls with the code; revoke it', async ({ page }) => {
  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.goto(`${srv.url}/devices`);
  await expect(page.getByRole('heading', { name: '機器を登録' })).toBeVisible();
  await expectAccessible(page, 'devices');
  await screenshots(page, 'devices');

  // Form errors in Japanese; no code is made.
  await page.getByLabel('有効時間 (時間)').fill('0');
  await page.getByRole('button', { name: '登録コードを作る' }).click();
  await expect(page.locator('#enroll-customer-error')).toHaveText('顧客を選んでください');
  await expect(page.locator('#enroll-hours-error')).toHaveText('有効時間は 1 から 720 までの整数で入力してください');
  await expect(page.getByTestId('enroll-code')).toHaveCount(0);
  expect((await srv.audit()).filter((e) => e.action === 'enrollment_code.create')).toEqual([]);

  await page.getByLabel('顧客', { exact: true }).first().selectOption(customer);
  await page.getByLabel('有効時間 (時間)').fill('2');
  await page.getByRole('button', { name: '登録コードを作る' }).click();
  const code = (await page.getByTestId('enroll-code').textContent())!.trim();
  expect(code).toMatch(/^[0-9A-Z-]{6,}$/);
  const agentCmd = (await page.getByTestId('cmd-agent').textContent())!;
  expect(agentCmd).toContain(`mimamori-agent enroll --server ${srv.url} --code ${code}`);
  expect(await page.getByTestId('cmd-sensor').textContent()).toContain(`mimamori-sensor enroll --server ${srv.url} --code ${code}`);
  await screenshots(page, 'devices-enroll');

  // The real agent, with the command's server and code (the credential in the test's folder).
  const cred = path.join(srv.dir, 'agent.credential');
  const out = execFileSync(bin('mimamori-agent'), ['enroll', '--server', srv.url, '--code', code, '--credential', cred], { encoding: 'utf8' });
  expect(out).toContain(srv.fingerprint);
  const device = out.trim().split(/\s+/)[2]!;

  await page.reload();
  const row = page.locator(`tr[data-device="${device}"]`);
  await expect(row).toContainText('エージェント');
  await expect(row).toContainText('見守り中');
  await expect(row).toContainText('機器テスト商事');

  page.once('dialog', (d) => void d.accept());
  await row.getByRole('button', { name: '失効させる' }).click();
  await expect(row).toContainText('失効');
  const { api } = await srv.client();
  expect((await (await api.get(`/api/v1/devices/${device}`)).json()).status).toBe('revoked');
  await api.dispose();
});
