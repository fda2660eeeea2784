/**
 * The files a jail's agent reads at /run/bulkhead: written into the jail's shared folder before the
 * agent starts, under names that can neither clash nor escape it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulkheadError } from '../errors.js';

/** Files the agent reads at /run/bulkhead/NAME: plain names only, never one already there. */
export function writeJailFiles(shared: string, files: Readonly<Record<string, string>>): void {
  for (const [name, content] of Object.entries(files)) {
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name) || name === LATE_ENV || existsSync(join(shared, name)))
      throw new BulkheadError('bad_request', `the jail file name ${name} is not allowed`);
    writeFileSync(join(shared, name), content, { mode: 0o644 });
  }
}

/** Read by the jail's init (bridge.ts) after `go`, with `.`: every value single-quoted. */
const LATE_ENV = 'run.env';

export function writeLateEnv(
  shared: string,
  env: Record<string, string>,
  base: Record<string, string>,
): void {
  const lines = Object.entries(env).map(([name, value]) => {
    // Never one the jail already sets (PATH, the proxy settings, NODE_OPTIONS's preload, ...).
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name) || Object.hasOwn(base, name) || value.includes('\0'))
      throw new BulkheadError('bad_request', `the jail variable ${name} is not allowed`);
    return `export ${name}='${value.replaceAll("'", "'\\''")}'\n`;
  });
  // wx: never over a file of the same name.
  writeFileSync(join(shared, LATE_ENV), lines.join(''), { mode: 0o644, flag: 'wx' });
}
