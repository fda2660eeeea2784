/**
 * `bulkhead run`: create a run on the gateway and start the agent under it.
 * Jailed by default (see src/sandbox); `--no-sandbox` is for development and
 * says so loudly; `--detach` only creates the run and prints its credentials
 * for an agent started elsewhere.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BulkheadError } from '../errors.js';
import { llmEnvironment } from '../llm/agent-env.js';
import { checkRunWorkdir, jailOptionsOf, reportWorkdir, runHostSecrets } from '../sandbox/cli-support.js';
import { JAIL_GATEWAY_PORT, startJail } from '../sandbox/index.js';
import { applyPreset } from './agent-presets.js';
import { GatewayClient } from './client.js';
import { JAIL_MCP_CONFIG, MCP_CONFIG_FILE, mcpClientConfig } from './mcp-config.js';
import { action, EXIT, line, printJson, style, warn } from './output.js';
import { loadRunPolicy, type RunPolicy } from './run-policy.js';
import { checkSandboxSupportRemembered, forgetSandboxProbe } from './run-probe.js';
import { watchRunEnd } from './run-watch.js';

export interface CreatedRunView {
  run_id: string;
  token: string;
  mcp_url: string;
  expires_at: string;
  /** With --detach: a one-time grant for an OAuth client that cannot send the token. */
  grant?: string;
  grant_expires_at?: string;
}

interface RunOptions {
  policy: string;
  profile: string;
  timeout?: string;
  detach?: boolean;
  json?: boolean;
  sandbox: boolean;
  workdir?: string;
  gateway?: string;
  label?: string;
  agent?: string;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run an agent command under a profile (jailed), or create a run with --detach')
    .requiredOption('--policy <file>', 'policy YAML file')
    .requiredOption('--profile <name>', 'profile the run gets')
    .option('--timeout <duration>', 'wall clock for this run, e.g. 10m (default: the profile budget)')
    .option('--detach', 'only create the run and print run_id, token, mcp_url, expires_at')
    .option('--no-sandbox', 'run the command without the jail (development only)')
    .option(
      '--workdir <dir>',
      "the agent's folder: copied into the jail, merged back at exit (default: the current folder; refused if it holds the policy, the store or $HOME)",
    )
    .option('--label <text>', 'a label shown in runs and the dashboard')
    .option(
      '--agent <name>',
      'apply what this agent needs: claude-code or agent-sdk (src/cli/agent-presets.ts)',
    )
    .option('--gateway <url>', 'gateway URL')
    .option('--json', 'machine-readable output')
    .argument('[command...]', 'the agent command, after --')
    .passThroughOptions()
    .action(action(async (command: string[], opts: RunOptions) => runCommand(command, opts)));
}

async function runCommand(command: string[], opts: RunOptions): Promise<number> {
  // The jail probe (a few processes, or its remembered success: run-probe.ts) runs while this one
  // reads the policy; awaited below, before a run exists. Started whenever a jail may be wanted: a
  // profile that turns it off just wastes it.
  const support = !opts.detach && opts.sandbox ? checkSandboxSupportRemembered() : undefined;
  support?.catch(() => undefined);
  const policy = await loadRunPolicy(opts.policy);
  const profile = Object.hasOwn(policy.profiles, opts.profile) ? policy.profiles[opts.profile] : undefined;
  if (!profile) {
    throw new BulkheadError(
      'not_found',
      `${opts.policy}: no profile named "${opts.profile}" (have: ${Object.keys(policy.profiles).join(', ')})`,
    );
  }
  const ttlMs = opts.timeout ? await parseDuration(opts.timeout) : undefined;
  if (!opts.detach && command.length === 0)
    throw new BulkheadError('bad_request', 'give the agent command after --, or pass --detach');
  const jailed = !opts.detach && opts.sandbox && profile.sandbox.enabled;
  // Fail closed before a run exists: no jail, no run (unless the caller explicitly asked for none).
  if (jailed) {
    await support;
    // The default workdir is the current folder: refused, before a run exists, if it exposes a secret.
    opts.workdir = checkRunWorkdir(opts.workdir ?? process.cwd(), runHostSecrets(policy));
  }
  // An unknown --agent is refused before a run exists.
  if (!opts.detach) applyPreset(opts.agent, command, '');
  const client = new GatewayClient({ ...(opts.gateway ? { gateway: opts.gateway } : {}) });
  const created = await client.post<CreatedRunView>('/api/runs', {
    profile: opts.profile,
    ...(ttlMs ? { ttl_ms: ttlMs } : {}),
    ...(opts.label ? { label: opts.label } : {}),
    ...(opts.detach ? { grant: true } : {}),
  });
  // The id first, so a person or a script can kill or follow the run while it is under way.
  if (!opts.detach)
    warn(opts.json ? JSON.stringify({ run_id: created.run_id }) : `bulkhead: run ${created.run_id}`);
  if (opts.detach) {
    if (opts.json) printJson({ ...created, llm_base_url: policy.llm ? client.base : null });
    else {
      line(`run ${created.run_id} created (expires ${created.expires_at})`);
      line(`BULKHEAD_MCP_URL=${created.mcp_url}`);
      line(`BULKHEAD_TOKEN=${created.token}`);
      if (created.grant) {
        line(`OAuth clients (no custom headers): connect to the MCP URL and paste this one-time grant`);
        line(`  ${created.grant}   (until ${created.grant_expires_at})`);
      }
    }
    return EXIT.ok;
  }
  if (jailed) return runJailed(client, created, command, profile, opts, runHostSecrets(policy));
  const config = unjailedConfig(created);
  const preset = applyPreset(opts.agent, command, config);
  warn(
    style.yellow(
      opts.sandbox
        ? `bulkhead: profile ${opts.profile} disables the sandbox: the agent runs with your user's full access; ${LLM_NOTE}`
        : `bulkhead: --no-sandbox: the agent runs with your user's full access to files and network; ${LLM_NOTE}`,
    ),
  );
  return runUnjailed(client, created, preset.command, { ...preset.env, BULKHEAD_MCP_CONFIG: config });
}

/** Without the jail, the MCP config is a private temp file (removed when the process exits). */
function unjailedConfig(created: CreatedRunView): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-mcp-'));
  const file = join(dir, MCP_CONFIG_FILE);
  writeFileSync(file, JSON.stringify(mcpClientConfig(created.mcp_url, created.token), null, 2), {
    mode: 0o600,
  });
  // The one file and its folder: a recursive rm loads and runs node's whole rimraf for them.
  process.once('exit', () => {
    try {
      rmSync(file, { force: true });
      rmdirSync(dir);
    } catch {
      rmSync(dir, { recursive: true, force: true }); // the agent left something beside it
    }
  });
  return file;
}

const LLM_NOTE =
  'its LLM traffic still goes through the gateway (ANTHROPIC_BASE_URL and OPENAI_BASE_URL point to it, the run token is the API key, real provider keys are removed from its environment)';

/** The default: the agent runs in a jail whose only ways out are the gateway and the egress proxy. */
async function runJailed(
  client: GatewayClient,
  created: CreatedRunView,
  command: string[],
  profile: RunPolicy['profiles'][string],
  opts: RunOptions,
  hostSecrets: ReturnType<typeof runHostSecrets>,
): Promise<number> {
  const token = created.token;
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  const inside = `http://127.0.0.1:${JAIL_GATEWAY_PORT}`;
  const passed = Object.fromEntries(
    profile.sandbox.env
      .filter((name) => process.env[name] !== undefined)
      .map((name) => [name, process.env[name] as string]),
  );
  const preset = applyPreset(opts.agent, command, JAIL_MCP_CONFIG);
  const sandbox = jailOptionsOf(profile.sandbox);
  let jail: Awaited<ReturnType<typeof startJail>>;
  try {
    jail = await startJail({
      runId: created.run_id,
      workdir: opts.workdir ?? '.',
      hostSecrets,
      signal: stop.signal,
      ...sandbox,
      readOnlyMounts: [...(sandbox.readOnlyMounts ?? []), ...preset.mounts],
      command: preset.command,
      files: { [MCP_CONFIG_FILE]: JSON.stringify(mcpClientConfig(`${inside}/mcp`, token), null, 2) },
      env: {
        ...passed,
        ...preset.env,
        BULKHEAD_MCP_CONFIG: JAIL_MCP_CONFIG,
        BULKHEAD_RUN_ID: created.run_id,
        BULKHEAD_MCP_URL: `${inside}/mcp`,
        BULKHEAD_TOKEN: token,
        ANTHROPIC_BASE_URL: inside,
        ANTHROPIC_API_KEY: token,
      },
      egress: profile.egress,
      gatewayUrl: client.base,
      timeoutMs: Math.max(1, Date.parse(created.expires_at) - Date.now()),
      onEgress: (event) => {
        void client.post(`/api/runs/${created.run_id}/egress`, event).catch((error: unknown) => {
          warn(`bulkhead: could not record an egress attempt: ${(error as Error).message}`);
        });
      },
    });
  } catch (error) {
    // The run exists but its jail does not: end it now rather than leave it active until it expires.
    // A jail that cannot be built also voids a remembered probe (run-probe.ts).
    if (error instanceof BulkheadError && error.code === 'sandbox_unavailable') forgetSandboxProbe();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await client
      .post(`/api/runs/${created.run_id}/complete`, {
        reason: `the jail did not start: ${(error as Error).message}`,
      })
      .catch(() => undefined);
    throw error;
  }
  if (!opts.json) {
    warn(style.dim(`bulkhead: run ${created.run_id} jailed; limits in force:`));
    for (const [name, value] of Object.entries(jail.limits)) warn(style.dim(`  ${name.padEnd(8)} ${value}`));
  }
  // A kill or expiry decided at the gateway ends the whole process tree here, the moment it happens.
  const watch = watchRunEnd(client, created.run_id, (state) => void jail.kill(state));
  const exit = await jail.exited;
  watch.stop();
  process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  await reportWorkdir(
    exit.workdir,
    (text) => warn(style.yellow(`bulkhead: ${text}`)),
    (note) => client.post(`/api/runs/${created.run_id}/workdir`, note).then(() => undefined),
  );
  const exitCode = exit.exitCode ?? (exit.signal ? 137 : 1);
  const peak = exit.peakMemoryBytes === null ? '?' : `${Math.round(exit.peakMemoryBytes / 1024 / 1024)} MiB`;
  await client
    .post(`/api/runs/${created.run_id}/complete`, {
      exit_code: exitCode,
      reason: `${exit.reason}; exit ${exitCode}; peak memory ${peak}`,
    })
    .catch((error: unknown) => {
      warn(`bulkhead: could not mark the run completed: ${(error as Error).message}`);
    });
  if (opts.json) {
    printJson({
      run_id: created.run_id,
      exit_code: exitCode,
      reason: exit.reason,
      peak_memory_bytes: exit.peakMemoryBytes,
    });
  }
  return exitCode;
}

/** Development mode: plain child process, ended when the run is killed or expires. */
async function runUnjailed(
  client: GatewayClient,
  created: CreatedRunView,
  command: string[],
  extraEnv: Record<string, string>,
): Promise<number> {
  const [file, ...args] = command as [string, ...string[]];
  // No jail forces the network, so the LLM proxy is the only LLM API the agent is told of and can pay.
  const { env } = llmEnvironment(process.env, client.base, created.token);
  const child = spawn(file, args, {
    stdio: 'inherit',
    env: {
      ...env,
      ...extraEnv,
      BULKHEAD_RUN_ID: created.run_id,
      BULKHEAD_MCP_URL: created.mcp_url,
      BULKHEAD_TOKEN: created.token,
    },
  });
  const watch = watchRunEnd(client, created.run_id, (state) => {
    warn(`bulkhead: run ${state}; stopping the agent`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 1000).unref();
  });
  const exitCode = await new Promise<number>((resolve) => {
    child.once('error', (error) => {
      warn(`bulkhead: cannot start ${file}: ${error.message}`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1)));
  });
  watch.stop();
  await client
    .post(`/api/runs/${created.run_id}/complete`, { exit_code: exitCode })
    .catch((error: unknown) => {
      warn(`bulkhead: could not mark the run completed: ${(error as Error).message}`);
    });
  return exitCode;
}

export async function parseDuration(text: string): Promise<number> {
  // The schema's own reading of a duration; loaded only when --timeout is given (it brings zod).
  const { duration } = await import('./run-policy-parser.js');
  const parsed = duration.safeParse(text);
  if (!parsed.success)
    throw new BulkheadError('bad_request', `--timeout ${text}: expected a duration such as 30s, 10m or 2h`);
  return parsed.data;
}
