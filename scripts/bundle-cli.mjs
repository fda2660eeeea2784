// Bundles `bulkhead run` (dist/src/cli/run-main.js, from tsc) and everything it
// loads into dist/bundle/run.mjs, with the jail's plain-JavaScript assets beside
// it, where sandboxAsset() looks first. Run by `npm run build` after tsc.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'run-main.js')],
  outfile: join(out, 'run.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  // Bundled CommonJS packages call require() for node's own modules.
  banner: {
    js: "import { createRequire as bulkheadRequire } from 'node:module'; const require = bulkheadRequire(import.meta.url);",
  },
});
for (const file of ['bridge.mjs', 'node-proxy.cjs'])
  copyFileSync(join(root, 'src', 'sandbox', file), join(out, file));
