// Bundles the web UI (ui/) into dist/ui/ with esbuild: one script, one stylesheet, the page. No CDN.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const out = new URL('../dist/ui/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
await build({ entryPoints: ['ui/main.ts'], bundle: true, minify: true, format: 'esm', target: 'es2022', outfile: `${out}app.js`, logLevel: 'warning' });
await build({ entryPoints: ['ui/app.css'], bundle: true, minify: true, outfile: `${out}app.css`, logLevel: 'warning' });
copyFileSync('ui/index.html', `${out}index.html`);
