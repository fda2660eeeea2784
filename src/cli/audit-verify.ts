/**
 * `bulkhead audit verify`: checks the tamper-evident audit log of the store a
 * policy names (SQLite or PostgreSQL). Every writer's hash chain is walked
 * link by link, and every checkpoint (those the log recorded, and any
 * exported ones given with --checkpoint) is matched against the events it
 * names. Deleted, edited and reordered events are reported; exit 1 if any.
 * `--export FILE` writes the current checkpoint, to keep outside the store.
 * The anchor a gateway keeps in its home for this store (src/events/anchor.ts;
 * BULKHEAD_HOME or ~/.bulkhead, or --home) is checked too: against it a
 * deleted tail or a consistently rewritten chain shows.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BulkheadError } from '../errors.js';
import { anchorPath, readAnchor } from '../events/anchor.js';
import {
  asCheckpoint,
  type Checkpoint,
  currentCheckpoint,
  describeFinding,
  verifyLog,
} from '../events/verify.js';
import { bulkheadHome } from '../gateway/local-home.js';
import { loadPolicyFile } from '../policy/load.js';
import { openStore, storeLocation } from '../store/open.js';
import { action, EXIT, line, printJson, style } from './output.js';

interface VerifyOptions {
  policy: string;
  checkpoint?: string[];
  export?: string;
  json?: boolean;
  home?: string;
}

export function register(program: Command): void {
  const audit = program.commands.find((c) => c.name() === 'audit');
  if (!audit) throw new Error('register audit verify after audit');
  // Options after `verify` belong to it, not to `bulkhead audit` itself.
  audit.enablePositionalOptions();
  audit
    .command('verify')
    .description('verify the hash chain of the audit log: report deleted, edited or reordered events')
    .requiredOption('--policy <file>', 'policy YAML file (its store is verified)')
    .option('--checkpoint <file...>', 'exported checkpoint(s) to check the log against')
    .option('--export <file>', 'write the current checkpoint (every writer head) to this file')
    .option(
      '--home <dir>',
      "the gateway's home holding its audit anchor (default: BULKHEAD_HOME or ~/.bulkhead)",
    )
    .option('--json', 'machine-readable output')
    .action(action(async (opts: VerifyOptions) => verify(opts)));
}

async function verify(opts: VerifyOptions): Promise<number> {
  const loaded = loadPolicyFile(opts.policy);
  const checkpoints = (opts.checkpoint ?? []).map(readCheckpoint);
  const source = { env: process.env, dir: loaded.dir };
  const anchorFile = anchorPath(opts.home ?? bulkheadHome(), storeLocation(loaded.policy, source));
  const anchor = readAnchor(anchorFile);
  if (anchor) checkpoints.push(anchor);
  const store = await openStore(loaded.policy, source);
  try {
    const report = await verifyLog(store.events, { checkpoints });
    if (opts.export) {
      const cp = await currentCheckpoint(store.events);
      writeFileSync(opts.export, `${JSON.stringify(cp, null, 2)}\n`, { mode: 0o600 });
    }
    if (opts.json) {
      printJson({
        ...report,
        anchor: anchor ? anchorFile : null,
        findings: report.findings.map((f) => ({ ...f, message: describeFinding(f) })),
      });
    } else {
      line(
        `${report.ok ? style.green('intact') : style.red('BROKEN')}: ${report.checked} chained events from ${report.writers} writer(s), ${report.checkpoints} checkpoint(s) checked${report.unchained ? `, ${report.unchained} older events without a chain` : ''}`,
      );
      line(
        anchor
          ? `  matched against the anchor ${anchorFile}`
          : `  no anchor for this store in ${opts.home ?? bulkheadHome()}: a deleted tail shows only against an exported checkpoint (--checkpoint)`,
      );
      for (const f of report.findings) line(`  ${describeFinding(f)}`);
      if (opts.export) line(`checkpoint written to ${opts.export}`);
    }
    return report.ok ? EXIT.ok : EXIT.failed;
  } finally {
    await store.close();
  }
}

function readCheckpoint(file: string): Checkpoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BulkheadError('bad_request', `cannot read the checkpoint ${file}: ${(error as Error).message}`);
  }
  const cp = asCheckpoint(parsed);
  if (!cp) throw new BulkheadError('bad_request', `${file} is not a bulkhead audit checkpoint`);
  return cp;
}
