// The console at a provider's full scale (run by bench/console-scale, which fills the store with
// bench_console_scale_seed first): starts mimamori-server on that store and measures
//   (a) p50/p99 of the list endpoints the console's screens call, N requests each, one at a time
//       over one keep-alive HTTPS connection;
//   (b) in Debian's Chromium through Playwright, the time from navigation to the SOC overview's
//       and the incident queue's first row shown, median of R runs;
//   (c) the JavaScript bundle's gzipped size.
// The load average of the machine is read before and after each part. Prints one table and
// writes bench/out/console-scale-<backend>.json.
//   node bench/console_scale.cjs BACKEND DATA_DIR STORE_URL [requests] [runs]
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const https = require('node:https');
const zlib = require('node:zlib');
const { spawn } = require('node:child_process');
const { createInterface } = require('node:readline');
const root = path.resolve(__dirname, '..');
const { chromium } = require(require.resolve('@playwright/test', { paths: [path.join(root, 'web')] }));

const [BACKEND, DATA, STORE] = process.argv.slice(2, 5);
const N = Number(process.argv[5] || 200);
const RUNS = Number(process.argv[6] || 5);
const BIN = process.env.MIMAMORI_BIN || path.join(root, 'build/release/bin');
const WEB = path.join(BIN, '../share/mimamori/web');
const ADMIN = { email: 'admin@example.jp', password: 'correct horse battery staple' };

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
let cookie = '';
let csrf = '';
function call(base, method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : undefined;
    const req = https.request(
      new URL(p, base),
      {
        method,
        agent,
        headers: {
          ...(data ? { 'content-type': 'application/json' } : {}),
          ...(cookie ? { cookie } : {}),
          ...(csrf ? { 'x-csrf-token': csrf } : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode >= 400) reject(new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 200)}`));
          else resolve({ res, text, bytes: Buffer.concat(chunks).length });
        });
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function startServer() {
  const server = spawn(
    path.join(BIN, 'mimamori-server'),
    ['--set', `server.data_dir=${DATA}`, '--set', `store.url=${STORE}`, '--set', 'server.port=0', '--set', 'notify.enabled=false', '--set', 'server.login_attempts_per_minute=1000'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('mimamori-server did not start')), 120000);
    createInterface({ input: server.stdout }).on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return { server, url };
}

async function endpoints(url) {
  const login = await call(url, 'POST', '/api/v1/login', ADMIN);
  cookie = (login.res.headers['set-cookie'] || []).map((c) => c.split(';')[0]).join('; ');
  csrf = JSON.parse(login.text).csrf_token;
  // Incidents of every kind for the detail: the first 5,000 of the listing (big and small).
  const ids = [];
  for (let off = 0; off < 5000; off += 1000) {
    ids.push(...JSON.parse((await call(url, 'GET', `/api/v1/incidents?limit=1000&offset=${off}`)).text).items.map((x) => x.id));
  }
  // A build without GET /api/v1/overview: its screen loads every open incident and device.
  const overview = await call(url, 'GET', '/api/v1/overview').then(() => true, () => false);
  const get = async (p) => (await call(url, 'GET', p)).bytes;
  // As the screens' getAll: pages of 1,000 until a short one.
  const getAll = async (p) => {
    let bytes = 0;
    for (let off = 0; off < 5000; off += 1000) {
      const r = await call(url, 'GET', `${p}${p.includes('?') ? '&' : '?'}limit=1000&offset=${off}`);
      bytes += r.bytes;
      if (JSON.parse(r.text).items.length < 1000) break;
    }
    return bytes;
  };
  const cus = (i) => `cus_scale${String((i * 37) % 1000).padStart(6, '0')}`;
  const list = [
    { name: 'incident queue (status=open, 50 a page, first page)', run: () => get('/api/v1/incidents?limit=50&offset=0&status=open') },
    { name: 'incident queue, page 3', run: () => get('/api/v1/incidents?limit=50&offset=100&status=open') },
    { name: 'open incidents of one customer', run: (i) => get(`/api/v1/incidents?limit=50&offset=0&status=open&customer_id=${cus(i)}`) },
    { name: 'alerts (newest 100)', run: () => get('/api/v1/alerts?limit=100&offset=0') },
    { name: 'alerts of one customer (newest 100)', run: (i) => get(`/api/v1/alerts?limit=100&offset=0&customer_id=${cus(i)}`) },
    { name: 'customers (1,000 a page)', run: () => get('/api/v1/customers?limit=1000&offset=0') },
    { name: 'devices (1,000 a page)', run: () => get('/api/v1/devices?limit=1000&offset=0') },
    overview
      ? { name: 'overview summary (GET /api/v1/overview)', run: () => get('/api/v1/overview') }
      : {
          name: "overview's data as the screen loads it (customers, devices, incidents of the 4 open statuses, pages of 1,000)",
          run: async () => {
            let b = (await getAll('/api/v1/customers')) + (await getAll('/api/v1/devices'));
            for (const s of ['open', 'acknowledged', 'in_progress', 'resolved']) b += await getAll(`/api/v1/incidents?status=${s}`);
            return b;
          },
        },
    { name: 'incident detail (incident, timeline, alerts)', run: (i) => get(`/api/v1/incidents/${ids[(i * 7919) % ids.length]}`) },
  ];
  const out = [];
  for (const e of list) {
    for (let i = 0; i < 5; i++) await e.run(i);
    const ms = [];
    let bytes = 0;
    for (let i = 0; i < N; i++) {
      const t0 = process.hrtime.bigint();
      bytes += await e.run(i);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    out.push({ endpoint: e.name, p50_ms: pct(ms, 0.5), p99_ms: pct(ms, 0.99), max_ms: Math.max(...ms), kb: bytes / N / 1024 });
  }
  return out;
}

async function browser(url) {
  const b = await chromium.launch({ executablePath: process.env.MIMAMORI_CHROMIUM || '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const ctx = await b.newContext({ ignoreHTTPSErrors: true, locale: 'ja-JP' });
    const page = await ctx.newPage();
    await page.goto(`${url}/login`);
    await page.getByLabel(/メールアドレス/).fill(ADMIN.email);
    await page.getByLabel(/^パスワード$/).fill(ADMIN.password);
    await page.getByRole('button', { name: /^ログイン$/ }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    const screens = [
      { name: 'SOC overview', path: '/overview', rows: 'tr[data-customer]' },
      { name: 'incident queue', path: '/incidents', rows: 'tr[data-incident]' },
    ];
    const out = [];
    for (const s of screens) {
      const ms = [];
      let shown = 0;
      for (let r = 0; r < RUNS; r++) {
        const t0 = Date.now();
        await page.goto(`${url}${s.path}`, { waitUntil: 'commit' });
        await page.locator(s.rows).first().waitFor({ timeout: 120000 });
        ms.push(Date.now() - t0);
        shown = await page.locator(s.rows).count();
      }
      out.push({ screen: s.name, rows: shown, median_ms: pct(ms, 0.5), runs_ms: ms });
    }
    return out;
  } finally {
    await b.close();
  }
}

function bundle() {
  const dir = path.join(WEB, 'assets');
  let raw = 0;
  let gz = 0;
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    const b = fs.readFileSync(path.join(dir, f));
    raw += b.length;
    gz += zlib.gzipSync(b, { level: 9 }).length;
  }
  return { js_kb: raw / 1024, js_gzip_kb: gz / 1024 };
}

async function main() {
  const loads = { start: load() };
  const { server, url } = await startServer();
  try {
    const api = await endpoints(url);
    loads.after_endpoints = load();
    const screens = await browser(url);
    loads.after_browser = load();
    const js = bundle();
    const f = (x) => x.toFixed(1);
    console.log(`backend ${BACKEND}; ${N} requests per endpoint, median of ${RUNS} page loads; load average (1, 5, 15 min) at start ${loads.start}, after the endpoints ${loads.after_endpoints}, after the browser ${loads.after_browser}`);
    console.log('| endpoint | p50 ms | p99 ms | max ms | KB a request |');
    console.log('|---|---|---|---|---|');
    for (const r of api) console.log(`| ${r.endpoint} | ${f(r.p50_ms)} | ${f(r.p99_ms)} | ${f(r.max_ms)} | ${f(r.kb)} |`);
    console.log('| screen (navigation to first row shown) | rows shown | median ms | runs ms |');
    console.log('|---|---|---|---|');
    for (const s of screens) console.log(`| ${s.screen} | ${s.rows} | ${s.median_ms} | ${s.runs_ms.join(', ')} |`);
    console.log(`bundle: JavaScript ${f(js.js_kb)} KB, ${f(js.js_gzip_kb)} KB gzipped (goal < 250 KB)`);
    fs.mkdirSync(path.join(root, 'bench/out'), { recursive: true });
    fs.writeFileSync(path.join(root, `bench/out/console-scale-${BACKEND}.json`), JSON.stringify({ backend: BACKEND, requests: N, runs: RUNS, loads, api, screens, bundle: js }, null, 1));
  } finally {
    agent.destroy();
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
