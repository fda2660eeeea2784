/**
 * `bulkhead audit`: the worst case of every tool, as the policy exposes it.
 * A CI gate: exit 1 when a finding is at or above --fail-on (or an upstream
 * could not be listed: an unknown is not a pass), 2 on usage or policy errors.
 * Progress goes to stderr so stdout stays the report.
 */
import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import type { Command } from 'commander';
import { adHocHttp, adHocStdio, type Listed, listAll } from '../audit/connect.js';
import { assessTool, isSeverity, SEVERITIES, type ToolFinding } from '../audit/effective.js';
import { diffPins, formatPinDiff, lockPathFor, type PinChange, readLock } from '../audit/pin.js';
import { diffItems, NOTHING_OFFERED, offersInScope, pinScope } from '../audit/pin-items.js';
import { atOrAbove, jsonReport, textReport, useColour } from '../audit/report.js';
import { sarifReport } from '../audit/sarif.js';
import { markWithheld } from '../audit/withheld.js';
import { BulkheadError } from '../errors.js';
import { type LoadedPolicy, loadPolicyFile } from '../policy/load.js';
import { policyLocator } from '../policy/positions.js';
import type { UpstreamConfig } from '../policy/schema/index.js';
import { sideDoorsOpen } from '../policy/schema/llm.js';
import { resolveRecord, type SecretSource } from '../policy/secrets.js';
import { createScrubber, type Scrubber } from '../scrub/index.js';
import { action, EXIT, line, printJson, warn } from './output.js';

interface AuditOptions {
  policy?: string;
  upstream?: string[];
  url?: string;
  json?: boolean;
  sarif?: boolean;
  failOn: string;
  diff?: boolean;
  timeout: string;
}

export function register(program: Command): void {
  program
    .command('audit')
    .description("score every tool's worst-case misuse, as the policy exposes it")
    .argument('[args...]', 'more arguments for --upstream, after --')
    .option('--policy <file>', 'policy YAML file: audit every upstream it declares')
    .option('--upstream <command...>', 'audit one stdio server with no policy (command and arguments)')
    .option('--url <url>', 'audit one Streamable HTTP server with no policy')
    .option('--json', 'machine-readable output')
    .option('--sarif', 'SARIF 2.1.0 for code-scanning tools')
    .option('--fail-on <severity>', `exit 1 at or above this severity (${SEVERITIES.join(', ')})`, 'high')
    .option('--diff', 'show what changed since bulkhead pin (needs --policy)')
    .option('--timeout <seconds>', 'per upstream, to start and list', '30')
    .addHelpText(
      'after',
      '\nExamples:\n  bulkhead audit --policy policy.yaml --fail-on critical\n  bulkhead audit --upstream npx -y some-mcp-server\n  bulkhead audit --upstream node -- --import tsx server.ts\n  bulkhead audit --url http://127.0.0.1:8080/mcp --sarif > audit.sarif',
    )
    .action(action(async (args: string[], opts: AuditOptions) => audit(args, opts)));
}

async function audit(extra: string[], opts: AuditOptions): Promise<number> {
  if (!isSeverity(opts.failOn))
    throw new BulkheadError('bad_request', `--fail-on takes one of ${SEVERITIES.join(', ')}`);
  if (opts.json && opts.sarif) throw new BulkheadError('bad_request', 'give --json or --sarif, not both');
  const sources = [opts.policy, opts.upstream, opts.url].filter((s) => s !== undefined);
  if (sources.length !== 1)
    throw new BulkheadError(
      'bad_request',
      'give exactly one of --policy FILE, --upstream CMD ARGS..., --url URL',
    );
  const timeoutMs = Number(opts.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new BulkheadError('bad_request', '--timeout takes a number of seconds');

  let loaded: LoadedPolicy | undefined;
  let upstreams: Record<string, UpstreamConfig>;
  let dir = process.cwd();
  if (opts.policy) {
    loaded = loadPolicyFile(opts.policy);
    upstreams = loaded.policy.upstreams;
    dir = loaded.dir;
  } else if (opts.upstream) {
    const [command, ...args] = [...opts.upstream, ...extra];
    upstreams = { server: adHocStdio(command as string, args, dir) };
  } else {
    upstreams = { server: adHocHttp(opts.url as string) };
  }
  if (opts.diff && !loaded)
    throw new BulkheadError('bad_request', '--diff needs --policy: the lock lives beside it');

  const source: SecretSource = { env: process.env, dir };
  const scrubber = upstreamScrubber(upstreams, source);
  const listed = await listAll(upstreams, source, {
    progress: warn,
    scrub: scrubber.text,
    timeoutMs,
    // Prompts and resources matter to the pin diff only, and only where a profile shows them.
    ...(opts.diff && loaded ? { offered: offersInScope(loaded.policy) } : {}),
  });
  const failed = listed.filter((l) => l.error);

  if (opts.diff && loaded) return diff(loaded, listed, opts.json === true, scrubber);

  const findings = listed.flatMap((l) => l.tools.map((t) => assessTool(l.upstream, t, loaded?.policy)));
  if (loaded) markWithheld(findings, listed, loaded.policy);
  // The LLM API's own reach (server tools, MCP connector, URL fetches) is blast radius too.
  const llmDoors = Object.entries(loaded?.policy.profiles ?? {})
    .map(([profile, p]) => ({ profile, open: sideDoorsOpen(p.llm) }))
    .filter((d) => d.open.length > 0);
  if (opts.sarif) printJson(sarifReport(findings, loaded ? sarifLocator(loaded) : undefined));
  else if (opts.json) printJson({ ...(jsonReport(findings, listed) as object), llm_side_doors: llmDoors });
  else {
    line(textReport(findings, { colour: useColour(process.stdout, process.env), failures: listed }));
    for (const d of llmDoors)
      line(
        `LLM side doors open for profile ${d.profile}: ${d.open.join('; ')} (the API acts outside the egress list)`,
      );
  }
  if (failed.length > 0 && !opts.json && !opts.sarif)
    warn(`bulkhead: ${failed.length} upstream(s) could not be listed: the audit is incomplete`);
  return atOrAbove(findings, opts.failOn).length > 0 || failed.length > 0 ? EXIT.failed : EXIT.ok;
}

/** The terminal is a sink too: definitions are compared raw, then shown scrubbed. */
function diff(loaded: LoadedPolicy, listed: Listed[], json: boolean, scrubber: Scrubber): number {
  const path = lockPathFor(loaded.file);
  const lock = readLock(path);
  if (!lock) throw new BulkheadError('not_found', `no pin lock at ${path}: run bulkhead pin first`);
  const current = Object.fromEntries(listed.filter((l) => !l.error).map((l) => [l.upstream, l.tools]));
  const offered = Object.fromEntries(
    listed.filter((l) => !l.error).map((l) => [l.upstream, l.offered ?? NOTHING_OFFERED]),
  );
  const changes = scrubber.value([
    ...diffPins(lock, current, (up, tool) => loaded.policy.tools[up]?.[tool]?.expose === true),
    ...diffItems(lock, offered, pinScope(loaded.policy)),
  ]) as PinChange[];
  if (json)
    printJson({
      lock: path,
      changes,
      failed_upstreams: listed.filter((l) => l.error).map((l) => l.upstream),
    });
  else line(formatPinDiff(changes));
  return changes.length > 0 || listed.some((l) => l.error) ? EXIT.failed : EXIT.ok;
}

/** Scrubs the upstreams' own credentials (and anything credential-shaped) from what the audit prints. */
function upstreamScrubber(upstreams: Record<string, UpstreamConfig>, source: SecretSource): Scrubber {
  const secrets: string[] = [];
  for (const [name, config] of Object.entries(upstreams)) {
    try {
      const values = 'command' in config ? config.env : config.headers;
      secrets.push(...Object.values(resolveRecord(values, source, `upstreams.${name}`)));
    } catch {
      // A missing secret fails that upstream's listing with a message that names the reference.
    }
  }
  return createScrubber({ secrets: secrets.filter((s) => s.length >= 6) });
}

function sarifLocator(loaded: LoadedPolicy) {
  const locate = policyLocator(readFileSync(loaded.file, 'utf8'));
  const uri = relative(process.cwd(), loaded.file).split(sep).join('/');
  return (f: ToolFinding) => {
    const path = loaded.policy.tools[f.upstream]?.[f.tool]
      ? ['tools', f.upstream, f.tool]
      : ['upstreams', f.upstream];
    return { uri, ...locate(path) };
  };
}
