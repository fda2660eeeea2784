// Bundles `bulkhead run` (dist/src/cli/run-main.js, from tsc) and everything it
// loads into one CommonJS file, dist/bundle/run.cjs, with V8's code cache for it
// (run.cjs.cache: compiling the 1.5 MB bundle was a third of the command's CPU)
// and the sandbox's plain scripts beside it, where sandboxAsset() looks
// first. Run by `npm run build` after tsc; bin/bulkhead.js loads the result
// through load-bundle.js.
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { compileBundle } from '../bin/load-bundle.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');
const file = join(out, 'run.cjs');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'run-main.js')],
  outfile: file,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // CommonJS has no import.meta: the modules that locate files beside them get the bundle's URL.
  // A new id per build: `bulkhead run`'s cached reading of a policy (src/cli/run-policy.ts) is only
  // trusted by the build that wrote it.
  define: { 'import.meta.url': '__bulkhead_url', __BULKHEAD_BUILD_ID__: JSON.stringify(randomUUID()) },
  banner: { js: "var __bulkhead_url = require('node:url').pathToFileURL(__filename).href;" },
});
// Evaluating the bundle (it has no side effects on load) compiles its top level, and `warm` the
// functions a run calls (V8 compiles each on its first call); the cache then holds all that code,
// and a later load only checks it against the source.
const { script, exports } = compileBundle(file, undefined);
await exports.warm();
writeFileSync(`${file}.cache`, script.createCachedData());
for (const file of ['bridge.mjs', 'node-proxy.cjs', 'splice-relay.py'])
  copyFileSync(join(root, 'src', 'sandbox', file), join(out, file));
