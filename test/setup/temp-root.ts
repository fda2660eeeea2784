/**
 * Every temporary file of a test run under one folder, removed when the run ends. The tests make
 * their folders with mkdtemp in os.tmpdir() (about 50 places, and the gateways, jails and
 * PostgreSQL servers they start do the same), and none removed them: one run of the suite left
 * about 1 GB in /tmp. Here TMPDIR points at a folder of this run's own, which the test workers and
 * every process they start inherit; teardown removes it. Mode 1777, as /tmp: tests that run a
 * gateway as `nobody` make their folders inside it.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'bulkhead-tests-'));
  chmodSync(root, 0o1777);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    // KEEP_TEST_TMP=1 keeps it, to look at what a failed test left.
    if (process.env.KEEP_TEST_TMP === '1') console.log(`test files kept in ${root}`);
    else rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
}
