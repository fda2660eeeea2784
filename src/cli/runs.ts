import type { Command } from 'commander';
import type { RunView, Usage } from '../gateway/api-run-view.js';
import { GatewayClient } from './client.js';
import { action, ago, line, printJson, style, table } from './output.js';

function usageCell(usage: Usage[], dimension: Usage['dimension']): string {
  const u = usage.find((x) => x.dimension === dimension);
  if (!u) return '-';
  const format = (n: number) =>
    dimension === 'wall_clock' ? ago(n) : dimension === 'usd' ? `$${n.toFixed(n < 1 ? 4 : 2)}` : String(n);
  const used = format(u.used);
  const cap = u.cap === null ? '∞' : format(u.cap);
  return `${used}/${cap}`;
}

export function register(program: Command): void {
  program
    .command('runs')
    .description('list runs on a gateway')
    .option('--gateway <url>', 'gateway URL (default $BULKHEAD_GATEWAY or http://127.0.0.1:7300)')
    .option('--state <state>', 'only runs in this state')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { gateway?: string; state?: string; json?: boolean }) => {
        const client = new GatewayClient({ ...(opts.gateway ? { gateway: opts.gateway } : {}) });
        const { runs } = await client.get<{ runs: RunView[] }>(
          `/api/runs${opts.state ? `?state=${encodeURIComponent(opts.state)}` : ''}`,
        );
        if (opts.json) {
          printJson(runs);
          return 0;
        }
        if (runs.length === 0) {
          line('no runs');
          return 0;
        }
        const now = Date.now();
        line(
          table([
            [
              'RUN',
              'PROFILE',
              'STATE',
              'AGE',
              'CALLS',
              'CLOCK',
              'TOKENS IN',
              'TOKENS OUT',
              'USD',
              'TAINT',
              'ENDED BECAUSE',
            ].map(style.bold),
            ...runs.map((r) => [
              r.id,
              r.profile,
              r.state === 'active' ? style.green(r.state) : r.state,
              ago(now - r.created_at),
              usageCell(r.usage, 'tool_calls'),
              usageCell(r.usage, 'wall_clock'),
              usageCell(r.usage, 'input_tokens'),
              usageCell(r.usage, 'output_tokens'),
              usageCell(r.usage, 'usd'),
              r.taint.untrusted ? style.yellow('untrusted') : '-',
              r.end_reason ?? '',
            ]),
          ]),
        );
        return 0;
      }),
    );
}
