// A real mimamori-server on loopback with its own SQLite data folder, filled through the real
// device API: `mimamori admin` makes the provider and customers, mimamori-sensor enrolls with a
// code and sends the EVE it makes from a corpus capture. One server per test file.
import AxeBuilder from '@axe-core/playwright';
import { expect, request, type APIRequestContext, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const BIN = process.env.MIMAMORI_BIN || path.resolve(here, '../../build/release/bin');
const CORPUS = process.env.MIMAMORI_CORPUS || path.resolve(here, '../../../shared/corpus');
export const ARTIFACTS = process.env.MIMAMORI_WEB_ARTIFACTS || path.resolve(here, '../test-results');

export const ADMIN = { email: 'admin@example.jp', password: 'correct horse battery staple' };
export const PASSWORD = 'a long enough password 1';

export function bin(name: string): string {
  return path.join(BIN, name);
}

export function run(program: string, args: string[]): string {
  return execFileSync(bin(program), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export class TestServer {
  data: string;
  dir: string;
  url = '';
  fingerprint = '';
  proc: ChildProcess | null = null;
  customers: Record<string, string> = {};

  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'mimamori-web-'));
    this.data = path.join(this.dir, 'data');
    mkdirSync(this.data);
    run('mimamori', ['admin', 'init', '--data-dir', this.data, '--provider', 'Test SOC', '--email', ADMIN.email, '--password', ADMIN.password]);
  }

  addCustomer(name: string): string {
    const id = run('mimamori', ['admin', 'customer', 'add', '--data-dir', this.data, '--name', name]);
    this.customers[name] = id;
    return id;
  }

  enrollCode(customer: string): string {
    return run('mimamori', ['admin', 'enroll-code', '--data-dir', this.data, '--customer', customer]);
  }

  /** Starts the server with no static_dir: it must find the console beside its binary. */
  async start(): Promise<void> {
    const p = spawn(
      bin('mimamori-server'),
      [
        '--set', `server.data_dir=${this.data}`,
        '--set', 'server.port=0',
        '--set', 'notify.enabled=false',
        '--set', 'server.background_interval_ms=500',
        '--set', 'server.login_attempts_per_minute=1000',
        // Devices of these tests send once; they must not turn silent during the run.
        '--set', 'store.heartbeat_limit_s=86400',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.proc = p;
    const lines = createInterface({ input: p.stdout! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('mimamori-server did not start')), 30_000);
      p.on('exit', (code) => reject(new Error(`mimamori-server exited with ${code}`)));
      lines.on('line', (line) => {
        const m = /listening on (\S+)/.exec(line);
        if (m) this.url = m[1]!;
        const f = /fingerprint \(SHA-256\): (\S+)/.exec(line);
        if (f) {
          this.fingerprint = f[1]!;
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const done = new Promise((r) => this.proc!.on('exit', r));
      this.proc.kill('SIGTERM');
      await done;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** An API client logged in as `email`. */
  async client(email = ADMIN.email, password = ADMIN.password): Promise<{ api: APIRequestContext; csrf: string }> {
    const api = await request.newContext({ baseURL: this.url, ignoreHTTPSErrors: true });
    const r = await api.post('/api/v1/login', { data: { email, password } });
    expect(r.status(), await r.text()).toBe(200);
    return { api, csrf: (await r.json()).csrf_token as string };
  }

  async createUser(role: string, email: string, customer?: string): Promise<string> {
    const { api, csrf } = await this.client();
    const r = await api.post('/api/v1/users', {
      headers: { 'X-CSRF-Token': csrf },
      data: { email, name: email.split('@')[0], password: PASSWORD, role, customer_id: customer ?? '' },
    });
    expect(r.status(), await r.text()).toBe(201);
    const id = (await r.json()).id as string;
    await api.dispose();
    return id;
  }

  /** Enrolls a sensor for `customer` with a real code, then has it read a corpus capture with
   * rules that fire on its traffic and send the EVE to this server. */
  sensorReplay(customer: string, name: string): void {
    const work = path.join(this.dir, name);
    mkdirSync(work);
    const cred = path.join(work, 'sensor.credential');
    run('mimamori-sensor', ['enroll', '--server', this.url, '--code', this.enrollCode(customer), '--credential', cred]);
    run('mimamori-sensor', [
      '-r', path.join(CORPUS, 'suricata-verify/tests/bug-2646-01/input.pcap'),
      '-S', path.resolve(here, 'fixtures/web.rules'),
      '-l', work,
      '--credential', cred,
    ]);
  }

  async incidents(customer: string): Promise<{ id: string; status: string; severity: string }[]> {
    const { api } = await this.client();
    const r = await api.get(`/api/v1/incidents?customer_id=${customer}&limit=1000`);
    const items = (await r.json()).items;
    await api.dispose();
    return items;
  }

  /** Waits until the server has made an incident for `customer` from what its sensor sent. */
  async waitForIncident(customer: string): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const xs = await this.incidents(customer);
      if (xs.length) return xs[0]!.id;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no incident for ${customer}`);
  }

  async enableTotp(email: string, password: string): Promise<string> {
    const { api, csrf } = await this.client(email, password);
    const begin = await api.post('/api/v1/me/totp', { headers: { 'X-CSRF-Token': csrf }, data: {} });
    expect(begin.status()).toBe(200);
    const secret = (await begin.json()).secret as string;
    const ok = await api.post('/api/v1/me/totp/confirm', { headers: { 'X-CSRF-Token': csrf }, data: { code: totp(secret) } });
    expect(ok.status(), await ok.text()).toBe(200);
    await api.dispose();
    return secret;
  }

  /** Audit entries as the provider admin sees them. */
  async audit(): Promise<{ action: string; object_id: string; outcome: string; actor: string }[]> {
    const { api } = await this.client();
    const r = await api.get('/api/v1/audit?limit=1000');
    const items = (await r.json()).items;
    await api.dispose();
    return items;
  }
}

/** RFC 6238 code (SHA-1, 30 s, 6 digits) of a base32 secret, `offset` steps from now. */
export function totp(secret: string, offset = 0): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + offset));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1]! & 0xf;
  const n = (h.readUInt32BE(o) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

/** Logs in through the login screen; unless `expectRefusal`, waits until the console shows. */
export async function login(page: Page, srv: TestServer, email: string, password: string, expectRefusal = false): Promise<void> {
  await page.goto(`${srv.url}/login`);
  await page.getByLabel(/メールアドレス|E-mail address/).fill(email);
  await page.getByLabel(/^パスワード$|^Password$/).fill(password);
  await page.getByRole('button', { name: /^ログイン$|^Log in$/ }).click();
  if (!expectRefusal) await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

/** No serious or critical accessibility violation on the page as it is now. */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${name}: ${v.id} ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`)).toEqual([]);
}

/** A full-page screenshot in both languages, kept under the build tree's artefacts. */
export async function screenshots(page: Page, name: string): Promise<void> {
  for (const lang of ['ja', 'en']) {
    await page.evaluate((l) => localStorage.setItem('mm_lang', l), lang);
    await page.reload();
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(ARTIFACTS, 'screenshots', `${name}-${lang}.png`), fullPage: true });
  }
  await page.evaluate(() => localStorage.setItem('mm_lang', 'ja'));
  await page.reload();
}

/**
 * Chooses a customer in a customer picker (components/CustomerPicker) as a person would: types
 * part of the name, waits for the server's answer, then ↓ to it and Enter (keyboard only).
 * An empty `name` chooses "all customers" (the picker's first choice when it has one).
 */
export async function pickCustomer(page: Page, id: string, name: string, typed = name): Promise<void> {
  const box = page.locator(`#${id}`);
  await box.click();
  await box.fill(typed);
  const list = page.locator(`#${id}-list`);
  await expect(list).toHaveAttribute('data-query', typed.trim());
  const options = list.locator('[data-customer-option]');
  const wanted = name ? options.filter({ hasText: name }).first() : list.locator('[data-customer-option=""]');
  await expect(wanted).toBeVisible();
  const all = await options.evaluateAll((els) => els.map((e) => e.getAttribute('id')));
  const target = await wanted.getAttribute('id');
  for (let i = 0; i <= all.indexOf(target); i++) await box.press('ArrowDown');
  await expect(box).toHaveAttribute('aria-activedescendant', target!);
  await box.press('Enter');
  await expect(list).toHaveCount(0);
}
