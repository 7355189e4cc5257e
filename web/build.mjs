// Builds the atlas into ../src/econet/web/static/build/ (git-ignored): atlas.js (+ css), the MapLibre worker,
// and index.html. Everything is local: no CDN, no web fonts, no tile server.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, '../src/econet/web/static/build');
mkdirSync(out, { recursive: true });
const options = {
  entryPoints: [resolve(here, 'src/main.js')],
  bundle: true, format: 'esm', target: 'es2022', minify: true, sourcemap: true,
  outfile: resolve(out, 'atlas.js'), loader: { '.json': 'json' }, logLevel: 'info',
};
copyFileSync(resolve(here, 'node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs'), resolve(out, 'maplibre-gl-worker.mjs'));
copyFileSync(resolve(here, 'node_modules/maplibre-gl/LICENSE.txt'), resolve(out, 'MAPLIBRE-LICENSE.txt'));
writeFileSync(resolve(out, 'index.html'), readFileSync(resolve(here, 'src/index.html'), 'utf8'));
if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
