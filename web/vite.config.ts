// The console is built into the build tree's share folder (beside mimamori-server's bin/), where
// the server finds it with no setting: MIMAMORI_WEB_OUT names that folder; `vite build` alone
// writes dist/.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  plugins: [preact()],
  build: {
    outDir: process.env.MIMAMORI_WEB_OUT || 'dist',
    emptyOutDir: true,
    // No inline script anywhere: the server's CSP forbids it.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
  },
});
