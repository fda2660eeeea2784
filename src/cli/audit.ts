/** `bulkhead audit`: the worst case of every tool, as the policy exposes it; a CI gate with --fail-on. */
import type { Command } from 'commander';
import { collectTools, type Listed } from '../audit/collect.js';
import { assessTool, SEVERITIES, type Severity } from '../audit/effective.js';
import { diffPins, lockPathFor, readLock } from '../audit/pin.js';
import { atOrAbove, sarifReport, textReport } from '../audit/report.js';
import { BulkheadError } from '../errors.js';
import { loadPolicyFile } from '../policy/load.js';
import type { Policy, UpstreamConfig } from '../policy/schema/index.js';
import { resolveAllSecrets } from '../policy/secrets.js';
import { createScrubber } from '../scrub/index.js';
import { action, EXIT, line, printJson, warn } from './output.js';

interface AuditOptions {
  policy?: string;
  upstream?: string[];
  url?: string;
  json?: boolean;
  sarif?: boolean;
  failOn: string;
  diff?: boolean;
}

export function register(program: Command): void {
  program
    .command('audit')
    .description("score every tool's worst-case misuse, as the policy exposes it")
    .option('--policy <file>', 'policy YAML file')
    .option('--upstream <command...>', 'audit one stdio server with no policy (command and arguments)')
    .option('--url <url>', 'audit one Streamable HTTP server with no policy')
    .option('--json', 'machine-readable output')
    .option('--sarif', 'SARIF 2.1.0 for code-scanning tools')
    .option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity', 'high')
    .option('--diff', 'show tools whose definitions changed since bulkhead pin')
    .action(action(async (opts: AuditOptions) => audit(opts)));
}

async function audit(opts: AuditOptions): Promise<number> {
  if (!SEVERITIES.includes(opts.failOn as Severity))
    throw new BulkheadError('bad_request', `--fail-on takes one of ${SEVERITIES.join(', ')}`);
  let policy: Policy | undefined;
  let upstreams: Record<string, UpstreamConfig>;
  let dir = process.cwd();
  let file: string | null = null;
  if (opts.policy) {
    const loaded = loadPolicyFile(opts.policy);
    policy = loaded.policy;
    upstreams = policy.upstreams;
    dir = loaded.dir;
    file = loaded.file;
  } else if (opts.upstream?.length) {
    const [command, ...args] = opts.upstream as [string, ...string[]];
    upstreams = { server: { command, args, env: {}, call_timeout: 30_000 } };
  } else if (opts.url) {
    upstreams = { server: { url: opts.url, headers: {}, call_timeout: 30_000 } };
  } else {
    throw new BulkheadError('bad_request', 'give --policy FILE, --upstream CMD ARGS..., or --url URL');
  }
  const quiet = opts.json || opts.sarif;
  const source = { env: process.env, dir };
  const scrubber = createScrubber({ secrets: policy ? resolveAllSecrets(policy, source) : [] });
  const listed: Listed[] = await collectTools(
    upstreams,
    source,
    (l) => {
      if (!quiet) warn(l);
    },
    scrubber.text,
  );
  const failed = listed.filter((l) => l.error);
  if (failed.length === listed.length)
    throw new BulkheadError(
      'upstream_start_failed',
      `no upstream could be listed: ${failed.map((f) => `${f.upstream}: ${f.error}`).join('; ')}`,
    );
  if (opts.diff) {
    if (!file) throw new BulkheadError('bad_request', '--diff needs --policy (the lock lives beside it)');
    const lock = readLock(lockPathFor(file));
    if (!lock)
      throw new BulkheadError('not_found', `no pin lock at ${lockPathFor(file)}: run bulkhead pin first`);
    const diffs = listed.map((l) => ({ upstream: l.upstream, ...diffPins(lock.tools[l.upstream], l.tools) }));
    if (opts.json) printJson(diffs);
    else
      for (const d of diffs)
        line(
          `${d.upstream}: ${d.changed.length} changed${d.changed.length ? ` (${d.changed.join(', ')})` : ''}, ${d.added.length} new, ${d.removed.length} removed`,
        );
    return diffs.some((d) => d.changed.length > 0) ? EXIT.failed : EXIT.ok;
  }
  const findings = listed.flatMap((l) => l.tools.map((t) => assessTool(l.upstream, t, policy)));
  if (opts.sarif) printJson(sarifReport(findings, file));
  else if (opts.json) printJson(findings);
  else line(textReport(findings, Boolean(process.stdout.isTTY) && !process.env.NO_COLOR));
  return atOrAbove(findings, opts.failOn as Severity).length > 0 || failed.length > 0 ? EXIT.failed : EXIT.ok;
}
