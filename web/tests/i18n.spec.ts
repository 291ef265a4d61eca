// The message catalogues and JST: both catalogues have the same keys and placeholders, every key
// is used and no screen has a Japanese string of its own; in English no screen shows Japanese
// words of the console; times show in JST whatever the browser's zone.
import { expect, test, type Page } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ja } from '../src/i18n/ja';
import { en } from '../src/i18n/en';
import { ADMIN, login, PASSWORD, TestServer } from './fixture';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');
const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]/;

function sources(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'i18n' ? [] : sources(path.join(dir, e.name))) : /\.tsx?$/.test(e.name) ? [path.join(dir, e.name)] : [],
  );
}

/** The code of a source file without its comments. */
function code(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

test('the catalogues match: same keys, same placeholders, English has no Japanese', () => {
  expect(Object.keys(en).sort()).toEqual(Object.keys(ja).sort());
  const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  const jaMap = ja as Record<string, string>;
  const enMap = en as Record<string, string>;
  for (const k of Object.keys(ja)) {
    expect(holes(enMap[k]!), k).toEqual(holes(jaMap[k]!));
    expect(enMap[k]!.trim(), k).not.toBe('');
    expect(JAPANESE.test(enMap[k]!), `en ${k}: ${enMap[k]}`).toBe(false);
  }
});

test('every key is used, and no screen carries a Japanese string of its own', () => {
  const all = sources().map((f) => [f, code(f)] as const);
  const text = all.map(([, c]) => c).join('\n');
  // Keys chosen at run time: tv(prefix, value) (pkg and platform name the device repository's
  // install lines), the portal's `${status}.lead` and the desk's values (screens/Desk.tsx).
  const dynamic = [/^(sev|status|role|kind|pkg|platform)\./, /^portal\.(safe|caution|danger)\.lead$/, /^desk\.(status|priority|slaState|cat)\./];
  const unused = Object.keys(ja).filter((k) => !dynamic.some((d) => d.test(k)) && !text.includes(`'${k}'`));
  expect(unused).toEqual([]);
  for (const [file, c] of all) {
    // The language switch names Japanese in Japanese, as language menus do.
    const lines = c.split('\n').filter((l) => JAPANESE.test(l) && !l.includes("'日本語'"));
    expect(lines, path.relative(src, file)).toEqual([]);
  }
});

let srv: TestServer;
let customer = '';

test.describe('in the browser', () => {
  test.use({ timezoneId: 'America/New_York' });

  test.beforeAll(async () => {
    srv = new TestServer();
    customer = srv.addCustomer('Example Trading');
    await srv.start();
    await srv.createUser('analyst', 'analyst@example.jp');
    await srv.createUser('customer_admin', 'owner@example.jp', customer);
  });

  test.afterAll(async () => {
    await srv.stop();
  });

  async function english(page: Page) {
    await page.evaluate(() => localStorage.setItem('mm_lang', 'en'));
  }

  /** The page's visible words, but the language switch (日本語 is named in Japanese). */
  async function consoleWords(page: Page): Promise<string> {
    await page.waitForLoadState('networkidle');
    return (await page.locator('body').innerText()).replace('日本語', '');
  }

  test('in English, no screen shows Japanese words', async ({ page }) => {
    await login(page, srv, 'analyst@example.jp', PASSWORD);
    await english(page);
    for (const p of ['/overview', '/incidents', '/desk', '/devices', '/suppressions', '/threats', '/notifications', '/users', '/audit', '/account', '/no-such-screen']) {
      await page.goto(`${srv.url}${p}`);
      await expect(page.locator('html')).toHaveAttribute('lang', 'en');
      await expect(page.locator('h1')).toBeVisible();
      const words = await consoleWords(page);
      expect(words.match(new RegExp(`.{0,20}${JAPANESE.source}.{0,20}`, 'g')), p).toBeNull();
    }
    await page.getByRole('button', { name: 'Log out' }).click();
    await login(page, srv, 'owner@example.jp', PASSWORD);
    for (const p of ['/portal', '/portal/desk', '/portal/settings', '/portal/contract', '/portal/reports', '/portal/subsidy', '/account']) {
      await page.goto(`${srv.url}${p}`);
      await expect(page.locator('h1')).toBeVisible();
      const words = await consoleWords(page);
      expect(words.match(new RegExp(`.{0,20}${JAPANESE.source}.{0,20}`, 'g')), p).toBeNull();
    }
  });

  test('times show in JST in a browser in New York, in both languages', async ({ page }) => {
    expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe('America/New_York');
    await login(page, srv, ADMIN.email, ADMIN.password);
    const { api } = await srv.client();
    const items = (await (await api.get('/api/v1/audit?action=auth.login&limit=1')).json()).items as { at: string }[];
    await api.dispose();
    const at = Date.parse(items[0]!.at.replace(/(\.\d{3})\d*/, '$1').replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
    expect(Number.isNaN(at)).toBe(false);
    const j = new Date(at + 9 * 3600e3); // the wall clock in Tokyo
    const pad = (n: number) => String(n).padStart(2, '0');
    const ymd = `${j.getUTCFullYear()}/${pad(j.getUTCMonth() + 1)}/${pad(j.getUTCDate())}`;
    const hm = `${pad(j.getUTCHours())}:${pad(j.getUTCMinutes())}`;
    await page.goto(`${srv.url}/audit?action=auth.login`);
    await expect(page.locator('tbody tr').first().locator('td').first()).toHaveText(`${ymd} ${hm} JST`);
    await english(page);
    await page.reload();
    const dmy = `${pad(j.getUTCDate())}/${pad(j.getUTCMonth() + 1)}/${j.getUTCFullYear()}`;
    await expect(page.locator('tbody tr').first().locator('td').first()).toHaveText(`${dmy}, ${hm} JST`);
  });
});
