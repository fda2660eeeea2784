import { type Command, Option } from 'commander';
import { startGateway } from '../gateway/gateway.js';
import { loadPolicyFile } from '../policy/load.js';
import { GATEWAY_ENV, type GatewayFlags, gatewayConfig, LOG_LEVELS } from './gateway-config.js';
import { action, line, style } from './output.js';

export function register(program: Command): void {
  program
    .command('gateway')
    .description('serve MCP (/mcp), the operator API (/api) and metrics (/metrics) for a policy')
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
    .action(
      action(async (opts: GatewayFlags) => {
        const config = gatewayConfig(opts);
        const loaded = loadPolicyFile(opts.policy);
        if (config.store) loaded.policy.store = config.store;
        const gateway = await startGateway({
          loaded,
          port: config.port,
          host: config.host,
          ...(config.logLevel ? { logLevel: config.logLevel } : {}),
          ...(config.tls ? { tls: config.tls } : {}),
        });
        line(`${style.bold('bulkhead gateway')} listening on ${gateway.url}`);
        line(`  MCP for agents:   ${gateway.url}/mcp  (Authorization: Bearer <run token>)`);
        line(`  operator API:     ${gateway.url}/api  (token in ${gateway.localTokenPath})`);
        for (const up of gateway.pool.status()) line(`  upstream ${up.name}: ${up.state}, ${up.tools} tools`);
        line(`  exposed tools:    ${gateway.catalog.all().length}`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        line('stopping...');
        await gateway.close();
        return 0;
      }),
    );
}
