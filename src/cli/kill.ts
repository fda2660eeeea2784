import type { Command } from 'commander';
import { BulkheadError } from '../errors.js';
import { GatewayClient } from './client.js';
import { action, line, printJson } from './output.js';

export function register(program: Command): void {
  program
    .command('kill')
    .description('kill a run (or all active runs): its calls stop at once')
    .argument('[run-id]', 'the run to kill')
    .option('--all', 'kill every active run')
    .option('--reason <text>', 'why, for the audit log')
    .option('--gateway <url>', 'gateway URL')
    .option('--json', 'machine-readable output')
    .action(
      action(
        async (
          runId: string | undefined,
          opts: { all?: boolean; reason?: string; gateway?: string; json?: boolean },
        ) => {
          if (!runId && !opts.all) throw new BulkheadError('bad_request', 'name a run id, or pass --all');
          const client = new GatewayClient({ ...(opts.gateway ? { gateway: opts.gateway } : {}) });
          const body = opts.reason ? { reason: opts.reason } : {};
          if (opts.all) {
            const result = await client.post<{ killed: string[] }>('/api/kill-all', body);
            if (opts.json) printJson(result);
            else
              line(
                result.killed.length
                  ? `killed ${result.killed.length} run(s): ${result.killed.join(', ')}`
                  : 'no active runs',
              );
            return 0;
          }
          const result = await client.post<{ killed: boolean; run: { id: string; state: string } }>(
            `/api/runs/${encodeURIComponent(runId as string)}/kill`,
            body,
          );
          if (opts.json) printJson(result);
          else
            line(
              result.killed
                ? `killed ${result.run.id}`
                : `${result.run.id} had already ended (${result.run.state})`,
            );
          return 0;
        },
      ),
    );
}
