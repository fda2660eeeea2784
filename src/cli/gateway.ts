/**
 * `bulkhead gateway`. SIGHUP re-reads the policy (so does a change of the
 * file with --watch); SIGINT and SIGTERM stop gracefully. Settings come from
 * flags or the environment (gateway-config.ts).
 */
import { type Command, Option } from 'commander';
import { startGateway } from '../gateway/gateway.js';
import { widenHeapHeadroom } from '../gateway/heap-headroom.js';
import type { ReloadOutcome } from '../gateway/reload.js';
import type { ContainmentView } from '../gateway/upstream-slot.js';
import { watchPolicyFile } from '../gateway/watch.js';
import { loadPolicyFile } from '../policy/load.js';
import { tracingFromEnv } from '../telemetry/tracing.js';
import { GATEWAY_ENV, type GatewayFlags, gatewayConfig, LOG_LEVELS } from './gateway-config.js';
import { action, line, style, warn } from './output.js';

export function register(program: Command): void {
  program
    .command('gateway')
    .description(
      'serve MCP (/mcp), the operator API (/api), metrics (/metrics) and health (/healthz, /readyz)',
    )
    .addOption(
      new Option('--policy <file>', 'policy YAML file').env(GATEWAY_ENV.policy).makeOptionMandatory(),
    )
    .addOption(new Option('--port <port>', 'port to listen on').env(GATEWAY_ENV.port).default('7300'))
    .addOption(new Option('--host <host>', 'address to listen on').env(GATEWAY_ENV.host).default('127.0.0.1'))
    .addOption(new Option('--log-level <level>', 'log level').env(GATEWAY_ENV.logLevel).choices(LOG_LEVELS))
    .addOption(
      new Option('--store <url>', "store instead of the policy's: postgres://… or a SQLite file path").env(
        GATEWAY_ENV.store,
      ),
    )
    .addOption(
      new Option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain').env(GATEWAY_ENV.tlsCert),
    )
    .addOption(new Option('--tls-key <file>', 'the PEM private key for --tls-cert').env(GATEWAY_ENV.tlsKey))
    .addOption(new Option('--watch', 'reload the policy when its file changes').env(GATEWAY_ENV.watch))
    .action(
      action(async (opts: GatewayFlags) => {
        const config = gatewayConfig(opts);
        const loaded = loadPolicyFile(opts.policy);
        if (config.store) loaded.policy.store = config.store;
        const tracing = tracingFromEnv(process.env);
        widenHeapHeadroom();
        const gateway = await startGateway({
          ...(tracing ? { tracing } : {}),
          loaded,
          port: config.port,
          host: config.host,
          ...(config.logLevel ? { logLevel: config.logLevel } : {}),
          ...(config.tls ? { tls: config.tls } : {}),
          // Also applied to every reloaded policy, so a reload does not see a store change.
          ...(config.store ? { store: config.store } : {}),
        });
        line(`${style.bold('bulkhead gateway')} listening on ${gateway.url}`);
        line(`  MCP for agents:   ${gateway.url}/mcp  (Authorization: Bearer <run token>)`);
        line(`  dashboard:        ${gateway.url}/ui  (sign in with the operator token)`);
        line(`  operator API:     ${gateway.url}/api  (token in ${gateway.localTokenPath})`);
        line(
          loaded.policy.llm
            ? `  LLM proxy:        ${gateway.url}/v1/messages  (ANTHROPIC_BASE_URL=${gateway.url}, the run token as the key)`
            : '  LLM proxy:        off (no llm: section in the policy)',
        );
        for (const up of gateway.pool.status())
          line(`  upstream ${up.name}: ${up.state}, ${up.tools} tools${weakerContainment(up.containment)}`);
        line(`  health:           ${gateway.url}/healthz, ${gateway.url}/readyz`);
        line(`  exposed tools:    ${gateway.catalog.all().length}`);
        const reload = (actor: string) => void gateway.reload(actor).then(report);
        // Without a handler, SIGHUP's default action would end the process.
        const onHangup = () => reload('signal:SIGHUP');
        process.on('SIGHUP', onHangup);
        const unwatch = opts.watch ? watchPolicyFile(loaded.file, () => reload('watch')) : () => undefined;
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        line('stopping...');
        unwatch();
        process.off('SIGHUP', onHangup);
        await gateway.close();
        await tracing?.shutdown();
        return 0;
      }),
    );
}

function report(outcome: ReloadOutcome): void {
  if (!outcome.ok) {
    warn(`policy reload refused, the running policy was kept:\n${outcome.message}`);
    return;
  }
  const c = outcome.changes;
  const parts = [
    c.upstreams_added.length ? `started ${c.upstreams_added.join(', ')}` : '',
    c.upstreams_removed.length ? `stopped ${c.upstreams_removed.join(', ')}` : '',
    c.upstreams_restarted.length ? `restarted ${c.upstreams_restarted.join(', ')}` : '',
    c.profiles_changed.length ? `tools changed for ${c.profiles_changed.join(', ')}` : '',
  ].filter(Boolean);
  line(`policy reloaded in ${outcome.ms} ms${parts.length ? `: ${parts.join('; ')}` : ''}`);
}

/** Said beside a stdio upstream held by less than its own PID namespace (parent-death.ts). */
function weakerContainment(how: ContainmentView | null): string {
  if (!how || how.mode === 'pid-namespace') return '';
  if (how.mode === 'none') return ' (not tied to the gateway: a kill -9 of it leaves the upstream running)';
  return how.sweep
    ? ' (no PID namespace: contained by a parent-death signal and a sweep of its processes)'
    : ' (no PID namespace: contained by a parent-death signal only; its children may outlive a kill -9)';
}
