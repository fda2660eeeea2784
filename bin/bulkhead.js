#!/usr/bin/env node
// Thin launcher. `npm install` builds dist/ (the `prepare` script), and the
// CLI runs from there: starting through tsx costs about a second per command.
// Without a build (or with BULKHEAD_FROM_SOURCE=1, which the tests set so
// they always run the sources as edited) it runs the TypeScript through tsx.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
// `bulkhead run` starts every jailed agent: it has its own one-file bundle (scripts/bundle-cli.mjs).
const runBundle = join(root, 'dist', 'bundle', 'run.cjs');
if (process.argv[2] === 'run' && existsSync(runBundle) && !process.env.BULKHEAD_FROM_SOURCE) {
  const { loadBundle } = await import('./load-bundle.js');
  await loadBundle(runBundle).main(process.argv);
} else if (existsSync(built) && !process.env.BULKHEAD_FROM_SOURCE) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
