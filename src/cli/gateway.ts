import type { Command } from 'commander';
import { startGateway } from '../gateway/gateway.js';
import { loadPolicyFile } from '../policy/load.js';
import { action, line, style } from './output.js';

export function register(program: Command): void {
  program
    .command('gateway')
    .description('serve MCP (/mcp), the operator API (/api) and metrics (/metrics) for a policy')
    .requiredOption('--policy <file>', 'policy YAML file')
    .option('--port <port>', 'port to listen on', '7300')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .action(
      action(async (opts: { policy: string; port: string; host: string }) => {
        const loaded = loadPolicyFile(opts.policy);
        const gateway = await startGateway({ loaded, port: Number(opts.port), host: opts.host });
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
