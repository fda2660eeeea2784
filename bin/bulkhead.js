#!/usr/bin/env node
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
    await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
  }
}

start().catch((error) => {
  // What the commands themselves do not catch (they print their own errors): as node would show it.
  process.exitCode = 1;
  console.error(error);
});
