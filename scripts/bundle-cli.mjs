// Bundles `bulkhead run` (dist/src/cli/run-main.js, from tsc) and everything it
// loads into CommonJS files with V8's code cache for each (FILE.cache:
// compiling the bundle was a third of the command's CPU), and the sandbox's
// plain scripts beside them, where sandboxAsset() looks first. Run by
// `npm run build` after tsc; bin/bulkhead.js loads the result through
// load-bundle.js.
//
// Two files: dist/bundle/run.cjs, and the policy parser apart in
// dist/bundle/policy.cjs (src/cli/run-policy-parser.ts), which run.cjs loads
// only when it has to parse a policy: at 1.3 MB of the 1.6 MB, reading and
// deserialising it was most of the bundle's load, for a run that finds its
// policy in the cache (src/cli/run-policy.ts).
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { build } from 'esbuild';
import { compileBundle, loaded } from '../bin/load-bundle.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');
const file = join(out, 'run.cjs');
const parser = join(out, 'policy.cjs');
mkdirSync(out, { recursive: true });
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // CommonJS has no import.meta: the modules that locate files beside them get the bundle's URL.
  define: {
    'import.meta.url': '__bulkhead_url',
    // A new id per build: `bulkhead run`'s cached reading of a policy (src/cli/run-policy.ts) is only
    // trusted by the build that wrote it.
    __BULKHEAD_BUILD_ID__: JSON.stringify(randomUUID()),
  },
  // The module wrapper is in the file (load-bundle.js compiles it as it is): wrapping the source at
  // load time made V8 flatten a second copy of it before compiling. Minified (names kept, for stack
  // traces and `constructor.name`): a 272 KB source was 200 fresh pages read and copied at every
  // `bulkhead run`'s start (~40% of its load), where each page first touched costs ~20 µs here.
  banner: {
    js: "(function (exports, require, module, __filename, __dirname) {var __bulkhead_url = require('node:url').pathToFileURL(__filename).href;",
  },
  footer: { js: '\n})' },
  minify: true,
  keepNames: true,
};
await build({
  ...common,
  entryPoints: [join(root, 'dist', 'src', 'cli', 'run-policy-parser.js')],
  outfile: parser,
});
await build({
  ...common,
  entryPoints: [join(root, 'dist', 'src', 'cli', 'run-main.js')],
  outfile: file,
  plugins: [
    {
      // The parser's import becomes a load of policy.cjs beside this bundle, through load-bundle.js.
      name: 'policy-parser-apart',
      setup(b) {
        b.onResolve({ filter: /run-policy-parser\.js$/ }, () => ({ path: 'policy.cjs', namespace: 'apart' }));
        b.onLoad({ filter: /.*/, namespace: 'apart' }, () => ({
          contents:
            "module.exports = require('../../bin/load-bundle.js').loadBundle(require('node:path').join(__dirname, 'policy.cjs'));",
          loader: 'js',
        }));
        b.onResolve({ filter: /load-bundle\.js$/, namespace: 'apart' }, (args) => ({
          path: args.path,
          external: true,
        }));
      },
    },
  ],
});
// Evaluating the bundle (it has no side effects on load) compiles its top level, and `warm` the
// functions a run calls (V8 compiles each on its first call), the parser's too; each cache then
// holds that code, and a later load only checks it against the source.
for (const stale of [`${file}.cache`, `${parser}.cache`]) rmSync(stale, { force: true });
// run.cjs is compiled eagerly (every function, not only those warm() calls), so its cache also
// holds the jail's path (startJail, the bridges' servers, the merge...), which no build can run: a
// jailed `bulkhead run` then compiles none of it (~7 ms less CPU, interleaved; --no-sandbox runs
// are no slower). V8 refuses a cache made under other flags, so lazy compilation is back on
// before anything else is compiled or the cache is written. The parser (policy.cjs, 1.3 MB, loaded
// only on a miss) stays lazy.
setFlagsFromString('--no-lazy');
const { script, exports } = compileBundle(file, undefined);
setFlagsFromString('--lazy');
await exports.warm();
writeFileSync(`${file}.cache`, script.createCachedData());
const parserScript = loaded.get(parser);
if (!parserScript) throw new Error('warm() did not load the policy parser');
writeFileSync(`${parser}.cache`, parserScript.createCachedData());
for (const asset of [
  'bridge.mjs',
  'node-proxy.cjs',
  'splice-relay.py',
  'splice-serve.py',
  'egress-listen.pl',
])
  copyFileSync(join(root, 'src', 'sandbox', asset), join(out, asset));
