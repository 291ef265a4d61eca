// Devices: enroll from the console (a code and the install commands), then a real
// `mimamori-agent enroll` with that code; form errors in Japanese with nothing saved; revoke.
// With packages in the server's device repository, the lines install from it and enroll.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bin, expectAccessible, login, PASSWORD, pickCustomer, screenshots, TestServer } from './fixture';

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

  await pickCustomer(page, 'enroll-customer', '機器テスト商事', '機器テスト');
  await page.getByLabel('有効時間 (時間)').fill('2');
  await page.getByRole('button', { name: '登録コードを作る' }).click();
  const code = (await page.getByTestId('enroll-code').textContent())!.trim();
  expect(code).toMatch(/^[0-9A-Z-]{6,}$/);
  // The code is the picked customer's.
  const made = (await srv.audit()).filter((e) => e.action === 'enrollment_code.create') as unknown as { customer_id: string }[];
  expect(made.map((e) => e.customer_id)).toEqual([customer]);
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

test('with packages in the device repository, the lines install from it and enroll with the code', async ({ page }) => {
  // The repository as mimamori-repo leaves it (server.repo_dir: <data_dir>/repo); the real
  // repository, apt and rpm are exercised by the packages/install test.
  const repo = path.join(srv.data, 'repo');
  mkdirSync(path.join(repo, 'deb'), { recursive: true });
  mkdirSync(path.join(repo, 'rpm'), { recursive: true });
  const fpr = '0123456789ABCDEF0123456789ABCDEF01234567';
  const key = 'public key of the device repository';
  writeFileSync(path.join(repo, 'mimamori.fpr'), `${fpr}\n`);
  writeFileSync(path.join(repo, 'mimamori.gpg'), key);
  writeFileSync(path.join(repo, 'deb', 'mimamori-agent_0.1.0-1_amd64.deb'), 'deb');
  writeFileSync(path.join(repo, 'deb', 'mimamori-sensor_0.1.0-1_amd64.deb'), 'deb');
  writeFileSync(path.join(repo, 'rpm', 'mimamori-agent-0.1.0-1.x86_64.rpm'), 'rpm');
  const keySha = createHash('sha256').update(key).digest('hex');

  await login(page, srv, 'analyst@example.jp', PASSWORD);
  await page.goto(`${srv.url}/devices`);
  await pickCustomer(page, 'enroll-customer', '機器テスト商事', '機器テスト');
  await page.getByRole('button', { name: '登録コードを作る' }).click();
  const code = (await page.getByTestId('enroll-code').textContent())!.trim();
  await expect(page.getByTestId('repo-fingerprint')).toHaveText(fpr);
  await expect(page.getByText('Debian・Ubuntu にエージェントを入れて登録するには、次を実行:')).toBeVisible();

  const deb = (await page.getByTestId('cmd-debian-mimamori-agent').textContent())!;
  expect(deb).toContain(`${srv.url}/download/mimamori.gpg /usr/share/keyrings/mimamori.gpg SHA256:${keySha}`);
  expect(deb).toContain(`${srv.url}/download deb/`);
  expect(deb).toContain('apt-get install -y mimamori-agent');
  expect(deb).toContain(`mimamori-agent enroll --server ${srv.url} --code ${code} --fingerprint ${srv.fingerprint}`);
  expect(deb).not.toContain('{code}');
  const sensor = (await page.getByTestId('cmd-debian-mimamori-sensor').textContent())!;
  expect(sensor).toContain('apt-get install -y mimamori-sensor');
  expect(sensor).toContain(`mimamori-sensor enroll --server ${srv.url} --code ${code}`);
  const rpm = (await page.getByTestId('cmd-rhel-mimamori-agent').textContent())!;
  expect(rpm).toContain(`${srv.url}/download/rpm/mimamori-agent-0.1.0-1.x86_64.rpm`);
  expect(rpm).toContain(`${createHash('sha256').update('rpm').digest('hex')}  /tmp/mimamori-agent-0.1.0-1.x86_64.rpm`);
  expect(rpm).toContain(`--code ${code}`);
  // The enroll-only lines are for a server without packages.
  await expect(page.getByTestId('cmd-agent')).toHaveCount(0);
  await expectAccessible(page, 'devices-packages');
});
