// The console's customer list (the SOC overview) and contract list with N customers (default
// 1,000), seeded through the API of a real mimamori-server on SQLite, measured in Debian's
// Chromium through Playwright: time from navigation to the first row shown (first render) and
// from typing into the filter box to the filtered rows shown; median of R runs (default 5).
// Run by bench/console-render; prints one table and writes bench/out/console-render.json.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawn, execFileSync } = require('node:child_process');
const { createInterface } = require('node:readline');
const root = path.resolve(__dirname, '..');
const { chromium, request } = require(require.resolve('@playwright/test', { paths: [path.join(root, 'web')] }));

const N = Number(process.argv[2] || 1000);
const RUNS = Number(process.argv[3] || 5);
const BIN = process.env.MIMAMORI_BIN || path.join(root, 'build/release/bin');
const ADMIN = { email: 'admin@example.jp', password: 'correct horse battery staple' };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mimamori-console-render-'));
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  execFileSync(path.join(BIN, 'mimamori'), ['admin', 'init', '--data-dir', data, '--provider', 'Bench SOC', '--email', ADMIN.email, '--password', ADMIN.password]);
  const server = spawn(path.join(BIN, 'mimamori-server'), ['--set', `server.data_dir=${data}`, '--set', 'server.port=0', '--set', 'notify.enabled=false', '--set', 'server.login_attempts_per_minute=1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('mimamori-server did not start')), 30000);
    createInterface({ input: server.stdout }).on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  try {
    const api = await request.newContext({ baseURL: url, ignoreHTTPSErrors: true });
    const login = await api.post('/api/v1/login', { data: ADMIN });
    const headers = { 'X-CSRF-Token': (await login.json()).csrf_token };
    const plan = await api.post('/api/v1/plans', {
      headers,
      data: { name: 'ベンチ', type: 'endpoint', per_device_fee: 1800, desk_hours: '平日', dispatch: '24時間以内', insurance_coverage: 1000000, status: 'registered', terms: { initial_fee: '無料', term: '1年', cancellation_penalty: 'なし', right_to_cancel: 'いつでも' } },
    });
    const planId = (await plan.json()).id;
    const seed0 = Date.now();
    for (let i = 0; i < N; i++) {
      const c = await api.post('/api/v1/customers', { headers, data: { name: `顧客${String(i).padStart(4, '0')} 株式会社` } });
      const id = (await c.json()).id;
      const k = await api.post('/api/v1/contracts', { headers, data: { customer_id: id, plan_id: planId, devices: 1 + (i % 20), start_date: '2026-04-01', insurance_policy: `POL-${i}`, insurance_until: '2099-03-31' } });
      if (k.status() !== 201) throw new Error(`contract ${i}: ${k.status()} ${await k.text()}`);
    }
    const seedS = (Date.now() - seed0) / 1000;
    await api.dispose();

    const browser = await chromium.launch({ executablePath: process.env.MIMAMORI_CHROMIUM || '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'ja-JP' });
    const page = await ctx.newPage();
    await page.goto(`${url}/login`);
    await page.getByLabel(/メールアドレス/).fill(ADMIN.email);
    await page.getByLabel(/^パスワード$/).fill(ADMIN.password);
    await page.getByRole('button', { name: /^ログイン$/ }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));

    const screens = [
      { name: 'customers (overview)', path: '/overview', rows: 'tr[data-customer]', filter: '#o-search' },
      { name: 'contracts', path: '/contracts', rows: '#contracts tbody tr[data-row]', filter: '#contracts-filter' },
    ];
    const results = [];
    for (const s of screens) {
      const first = [];
      const filtered = [];
      for (let r = 0; r < RUNS; r++) {
        const t0 = Date.now();
        await page.goto(`${url}${s.path}`);
        await page.locator(s.rows).first().waitFor();
        first.push(Date.now() - t0);
        const shown = await page.locator(s.rows).count();
        const t1 = Date.now();
        await page.fill(s.filter, '顧客0999');
        await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 1, s.rows);
        filtered.push(Date.now() - t1);
        if (r === 0) s.shown = shown;
      }
      results.push({ screen: s.name, rows_shown: s.shown, first_render_ms: median(first), filter_ms: median(filtered), runs_first: first, runs_filter: filtered });
    }
    await browser.close();
    console.log(`customers: ${N}, contracts: ${N}, seeded through the API in ${seedS.toFixed(1)} s; median of ${RUNS}`);
    console.log('| screen | rows on the first page | first render (ms) | filter to one customer (ms) |');
    console.log('|---|---|---|---|');
    for (const r of results) console.log(`| ${r.screen} | ${r.rows_shown} | ${r.first_render_ms} | ${r.filter_ms} |`);
    fs.mkdirSync(path.join(root, 'bench/out'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench/out/console-render.json'), JSON.stringify({ customers: N, runs: RUNS, seed_s: seedS, results }, null, 1));
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
