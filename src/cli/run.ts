/**
 * `bulkhead run`: create a run on the gateway and start the agent under it.
 * Jailed by default (see src/sandbox); `--no-sandbox` is for development and
 * says so loudly; `--detach` only creates the run and prints its credentials
 * for an agent started elsewhere.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BulkheadError } from '../errors.js';
import { llmEnvironment } from '../llm/agent-env.js';
import { checkRunWorkdir, runHostSecrets } from '../sandbox/cli-support.js';
import type { PreparedLaunch } from '../sandbox/launch.js';
import { hostLauncherTag } from '../sandbox/runtime-folder.js';
import { applyPreset } from './agent-presets.js';
import { GatewayClient } from './client.js';
import { MCP_CONFIG_FILE, mcpClientConfig } from './mcp-config.js';
import { action, EXIT, line, printJson, style, warn } from './output.js';
import { loadRunPolicy } from './run-policy.js';
import { checkSandboxSupportRemembered } from './run-probe.js';
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
  // So does the jail's launcher, for a root launcher (perl, waiting for its jail: run-jailed.ts);
  // ended unused whatever the run does instead of starting it.
  const launcher = support ? import('./run-jailed.js').then((m) => m.prepareLauncher()) : undefined;
  try {
    return await runWith(command, opts, support, launcher);
  } finally {
    (await launcher?.catch(() => undefined))?.cancel();
  }
}

async function runWith(
  command: string[],
  opts: RunOptions,
  support: Promise<unknown> | undefined,
  launcher: Promise<PreparedLaunch | undefined> | undefined,
): Promise<number> {
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
  if (!jailed)
    void launcher?.then(
      (prepared) => prepared?.cancel(),
      () => undefined,
    );
  // Fail closed before a run exists: no jail, no run (unless the caller explicitly asked for none).
  if (jailed) {
    await support;
    // The default workdir is the current folder: refused, before a run exists, if it exposes a secret.
    opts.workdir = checkRunWorkdir(opts.workdir ?? process.cwd(), runHostSecrets(policy));
  }
  // An unknown --agent is refused before a run exists.
  if (!opts.detach) applyPreset(opts.agent, command, '');
  const client = new GatewayClient({ ...(opts.gateway ? { gateway: opts.gateway } : {}) });
  // The id first, so a person or a script can kill or follow the run while it is under way.
  const announce = (created: CreatedRunView) => {
    if (!opts.detach)
      warn(opts.json ? JSON.stringify({ run_id: created.run_id }) : `bulkhead: run ${created.run_id}`);
    return created;
  };
  const request = client.postSoon<CreatedRunView>('/api/runs', {
    profile: opts.profile,
    ...(ttlMs ? { ttl_ms: ttlMs } : {}),
    ...(opts.label ? { label: opts.label } : {}),
    ...(opts.detach ? { grant: true } : {}),
    // This process holds the run (its jail, or its agent): gone unreported, the gateway kills the
    // run (runs/launcher-watch.ts). A detached run is held by whoever starts its agent, not by us.
    ...(opts.detach ? {} : launcherField()),
  });
  const creating = request.answer.then(announce);
  if (jailed) {
    // The jail is built while the gateway creates the run (run-jailed.ts). Its construction holds
    // this thread for tens of ms (files, cgroups, the launcher's fork): the request is sent first,
    // or it left only after that and the jail then waited for the run (7-29 ms at load 6).
    await request.sent;
    // The jail's code (its servers bring node:http, node:stream, node:dns...) is loaded only for a
    // jailed run, while the gateway creates it: --no-sandbox and --detach never evaluate it.
    creating.catch(() => undefined); // handled by runJailed; none is attached while it loads
    const { runJailed } = await import('./run-jailed.js');
    const prepared = await launcher?.catch(() => undefined);
    return runJailed(client, creating, command, profile, opts, runHostSecrets(policy), prepared);
  }
  const created = await creating;
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
  const config = unjailedConfig(created);
  const preset = applyPreset(opts.agent, command, config, undefined, {
    mcp: created.mcp_url,
    openai: `${client.base.replace(/\/+$/, '')}/v1`,
  });
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
  // The one file and its folder: node 20's rmSync loads and runs its whole rimraf, even for a file.
  process.once('exit', () => {
    try {
      unlinkSync(file);
    } catch {
      // The agent removed it already.
    }
    try {
      rmdirSync(dir);
    } catch {
      rmSync(dir, { recursive: true, force: true }); // the agent left something beside it
    }
  });
  return file;
}

const LLM_NOTE =
  'its LLM traffic still goes through the gateway (ANTHROPIC_BASE_URL and OPENAI_BASE_URL point to it, the run token is the API key, real provider keys are removed from its environment)';

/** `{ launcher }` naming this process (`hostLauncherTag`), or nothing where it cannot be named. */
function launcherField(): { launcher?: string } {
  const tag = hostLauncherTag();
  return tag ? { launcher: tag } : {};
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
