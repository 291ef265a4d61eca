// Browser tests against a real mimamori-server (tests/fixture.ts starts one per file). Debian's
// Chromium drives them; Playwright never downloads a browser.
import { defineConfig } from '@playwright/test';

const artifacts = process.env.MIMAMORI_WEB_ARTIFACTS || 'test-results';

export default defineConfig({
  testDir: 'tests',
  outputDir: `${artifacts}/output`,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    ignoreHTTPSErrors: true, // the server's own self-signed certificate, on loopback
    locale: 'ja-JP',
    timezoneId: 'UTC', // times must still show in JST
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.MIMAMORI_CHROMIUM || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
