#!/bin/sh
// 2>/dev/null; if [ "$1" = run ] && [ -n "${NODE_EXTRA_CA_CERTS-}" ]; then case "${NODE_OPTIONS-}" in *openssl-ca*) ;; *) BULKHEAD_DEFERRED_CA_CERTS=$NODE_EXTRA_CA_CERTS; export BULKHEAD_DEFERRED_CA_CERTS; unset NODE_EXTRA_CA_CERTS ;; esac; fi; exec node "$0" "$@"
//
// The line above is for /bin/sh (the shebang; node reads it as a comment, so `node bin/bulkhead.js`
// is unchanged). node 20 loads NODE_EXTRA_CA_CERTS, and its own CA store with it, at start-up
// before any JavaScript runs: 40-80 ms of CPU on a machine that sets it, more than bulkhead's own
// start. `bulkhead run` makes no TLS connection but to an https gateway, so for `run` the shell
// moves the variable aside and node starts without it; below it is put back for every process the
// run starts (the agent, the jail's variables), and src/cli/client.ts adds the file to its own
// https requests, as node would have (its CA store plus the file). With --use-openssl-ca in
// NODE_OPTIONS node's CA store is another one: then nothing is moved.
//
// Thin launcher. `npm install` builds dist/ (the `prepare` script), and the
// CLI runs from there: starting through tsx costs about a second per command.
// Without a build (or with BULKHEAD_FROM_SOURCE=1, which the tests set so
// they always run the sources as edited) it runs the TypeScript through tsx.
//
// CommonJS (bin/package.json), not ESM: an ESM entry starts node's ESM loader
// and builds a facade of every builtin it imports (node:fs's getters load all
// of node's streams), about 25 ms of every `bulkhead run`'s start-up.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const deferredCa = process.env.BULKHEAD_DEFERRED_CA_CERTS;
if (deferredCa !== undefined) {
  delete process.env.BULKHEAD_DEFERRED_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = deferredCa;
  globalThis[Symbol.for('bulkhead.deferredExtraCaCerts')] = deferredCa;
}

const root = join(__dirname, '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
// `bulkhead run` starts every jailed agent: it has its own one-file bundle (scripts/bundle-cli.mjs).
const runBundle = join(root, 'dist', 'bundle', 'run.cjs');

async function start() {
  if (process.argv[2] === 'run' && !process.env.BULKHEAD_FROM_SOURCE && existsSync(runBundle)) {
    await require('./load-bundle.js').loadBundle(runBundle).main(process.argv);
  } else if (existsSync(built) && !process.env.BULKHEAD_FROM_SOURCE) {
    await import(pathToFileURL(built).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    // `run` through its own entry, as the bundle runs it: the same exit (process.exit once done).
    if (process.argv[2] === 'run') {
      const entry = await import(pathToFileURL(join(root, 'src', 'cli', 'run-main.ts')).href);
      await entry.main(process.argv);
    } else {
      await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
    }
  }
}

start().catch((error) => {
  // What the commands themselves do not catch (they print their own errors): as node would show it.
  process.exitCode = 1;
  console.error(error);
});
