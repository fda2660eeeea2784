/**
 * `bulkhead run`'s default: the agent runs in a jail whose only ways out are
 * the gateway and the egress proxy (src/sandbox).
 *
 * The jail is built while the gateway creates the run: both take tens of ms
 * and neither needs the other until the agent starts. What only the run knows
 * (its id, its token in the agent's variables and MCP client config, its
 * expiry) reaches the jail once the workdir is staged and before the agent
 * runs (the jail's `late` part, src/sandbox/jail.ts). A run is only asked for
 * once the jail probe passed (run-probe.ts); if the jail then fails, or the
 * run cannot be created, neither outlives the command: the jail is torn down
 * before its agent ran, and a run created meanwhile is ended at once.
 */
import { BulkheadError } from '../errors.js';
import { jailOptionsOf, reportWorkdir, type runHostSecrets } from '../sandbox/cli-support.js';
import { JAIL_GATEWAY_PORT, type JailHandle, prepareJail, startJail } from '../sandbox/index.js';
import type { PreparedLaunch } from '../sandbox/launch.js';
import { applyPreset } from './agent-presets.js';
import type { GatewayClient } from './client.js';
import { JAIL_MCP_CONFIG, MCP_CONFIG_FILE, mcpClientConfig } from './mcp-config.js';
import { printJson, style, warn } from './output.js';
import type { RunPolicy } from './run-policy.js';
import { forgetSandboxProbe } from './run-probe.js';
import { watchRunEnd } from './run-watch.js';

export interface CreatedRun {
  run_id: string;
  token: string;
  expires_at: string;
}

export interface JailedRunOptions {
  workdir?: string;
  agent?: string;
  json?: boolean;
}

/** The agent's variables that only the run knows: set late, so never taken from the profile or preset. */
const RUN_VARIABLES = ['BULKHEAD_RUN_ID', 'BULKHEAD_TOKEN', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY'] as const;

/**
 * The jail's launcher, started before the policy is read (sandbox prepareJail): undefined where the
 * jail would not use one, or where it cannot be started (the jail then starts its own).
 */
export function prepareLauncher(): PreparedLaunch | undefined {
  try {
    return prepareJail();
  } catch {
    return undefined;
  }
}

export async function runJailed(
  client: GatewayClient,
  creating: Promise<CreatedRun>,
  command: string[],
  profile: RunPolicy['profiles'][string],
  opts: JailedRunOptions,
  hostSecrets: ReturnType<typeof runHostSecrets>,
  launcher?: PreparedLaunch,
): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  const inside = `http://127.0.0.1:${JAIL_GATEWAY_PORT}`;
  const preset = applyPreset(opts.agent, command, JAIL_MCP_CONFIG, undefined, {
    mcp: `${inside}/mcp`,
    openai: `${inside}/v1`,
  });
  const env: Record<string, string> = {
    ...Object.fromEntries(
      profile.sandbox.env
        .filter((name) => process.env[name] !== undefined)
        .map((name) => [name, process.env[name] as string]),
    ),
    ...preset.env,
    BULKHEAD_MCP_CONFIG: JAIL_MCP_CONFIG,
    BULKHEAD_MCP_URL: `${inside}/mcp`,
    // Both LLM doors of the gateway (llm/agent-env.ts does the same without the jail).
    ANTHROPIC_BASE_URL: inside,
    OPENAI_BASE_URL: `${inside}/v1`,
  };
  for (const name of RUN_VARIABLES) delete env[name];
  let runId: string | undefined;
  const late = creating.then((created) => {
    runId = created.run_id;
    return {
      env: {
        BULKHEAD_RUN_ID: created.run_id,
        BULKHEAD_TOKEN: created.token,
        ANTHROPIC_API_KEY: created.token,
        OPENAI_API_KEY: created.token,
      } satisfies Record<(typeof RUN_VARIABLES)[number], string>,
      files: {
        [MCP_CONFIG_FILE]: JSON.stringify(mcpClientConfig(`${inside}/mcp`, created.token), null, 2),
      },
      timeoutMs: Math.max(1, Date.parse(created.expires_at) - Date.now()),
    };
  });
  // Awaited by the jail only once staged: a run that cannot be created is no unhandled rejection
  // meanwhile (it still rejects the jail's start, after tearing it down).
  late.catch(() => undefined);
  // Egress attempts being recorded: all settled before this returns, since the command then ends
  // the process at once (run-main.ts) rather than waiting for whatever is still pending.
  const recording = new Set<Promise<void>>();
  const sandbox = jailOptionsOf(profile.sandbox);
  let jail: JailHandle;
  try {
    jail = await startJail({
      // Names the cgroup (with this process's pid): the run's id is not known yet.
      runId: 'run',
      workdir: opts.workdir ?? '.',
      hostSecrets,
      signal: stop.signal,
      ...sandbox,
      readOnlyMounts: [...(sandbox.readOnlyMounts ?? []), ...preset.mounts],
      command: preset.command,
      env,
      late,
      ...(launcher ? { launcher } : {}),
      egress: profile.egress,
      gatewayUrl: client.base,
      onEgress: (event) => {
        if (runId === undefined) return;
        const posted = client.post(`/api/runs/${runId}/egress`, event).then(
          () => undefined,
          (error: unknown) => {
            warn(`bulkhead: could not record an egress attempt: ${(error as Error).message}`);
          },
        );
        recording.add(posted);
        void posted.finally(() => recording.delete(posted));
      },
    });
  } catch (error) {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    // A jail that cannot be built voids a remembered probe (run-probe.ts).
    if (error instanceof BulkheadError && error.code === 'sandbox_unavailable') forgetSandboxProbe();
    // The run may exist (or be about to) while its jail does not: end it now rather than leave it
    // active until it expires.
    const created = await creating.catch(() => undefined);
    if (created) {
      await client
        .post(`/api/runs/${created.run_id}/complete`, {
          reason: `the jail did not start: ${(error as Error).message}`,
        })
        .catch(() => undefined);
    }
    throw error;
  }
  const id = runId as string;
  if (!opts.json) {
    warn(style.dim(`bulkhead: run ${id} jailed; limits in force:`));
    for (const [name, value] of Object.entries(jail.limits)) warn(style.dim(`  ${name.padEnd(8)} ${value}`));
  }
  // A kill or expiry decided at the gateway ends the whole process tree here, the moment it happens.
  const watch = watchRunEnd(client, id, (state) => void jail.kill(state));
  const exit = await jail.exited;
  watch.stop();
  process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  await reportWorkdir(
    exit.workdir,
    (text) => warn(style.yellow(`bulkhead: ${text}`)),
    (note) => client.post(`/api/runs/${id}/workdir`, note).then(() => undefined),
  );
  const exitCode = exit.exitCode ?? (exit.signal ? 137 : 1);
  const peak = exit.peakMemoryBytes === null ? '?' : `${Math.round(exit.peakMemoryBytes / 1024 / 1024)} MiB`;
  await client
    .post(`/api/runs/${id}/complete`, {
      exit_code: exitCode,
      reason: `${exit.reason}; exit ${exitCode}; peak memory ${peak}`,
    })
    .catch((error: unknown) => {
      warn(`bulkhead: could not mark the run completed: ${(error as Error).message}`);
    });
  await Promise.all(recording);
  if (opts.json) {
    printJson({
      run_id: id,
      exit_code: exitCode,
      reason: exit.reason,
      peak_memory_bytes: exit.peakMemoryBytes,
    });
  }
  return exitCode;
}
