/**
 * `bulkhead reload`: asks a running gateway to re-read its policy file (the
 * same as sending it SIGHUP, but across hosts and with the answer). Exit 0
 * when the new policy runs, 2 when it was refused (the old one keeps running).
 */
import type { Command } from 'commander';
import { isBulkheadError } from '../errors.js';
import type { ReloadOutcome } from '../gateway/reload.js';
import { GatewayClient } from './client.js';
import { action, EXIT, line, printJson, reportError } from './output.js';

export function register(program: Command): void {
  program
    .command('reload')
    .description("re-read a running gateway's policy file; an invalid one is refused and the old one kept")
    .option('--gateway <url>', 'gateway URL')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { gateway?: string; json?: boolean }) => {
        const client = new GatewayClient({ ...(opts.gateway ? { gateway: opts.gateway } : {}) });
        let outcome: Extract<ReloadOutcome, { ok: true }>;
        try {
          outcome = await client.post('/api/policy/reload');
        } catch (error) {
          if (opts.json && isBulkheadError(error)) {
            printJson({ ok: false, code: error.code, message: error.message });
            return error.code === 'gateway_unreachable' ? EXIT.failed : EXIT.usage;
          }
          return reportError(error);
        }
        if (opts.json) printJson(outcome);
        else {
          const c = outcome.changes;
          line(`policy reloaded from ${outcome.file} in ${outcome.ms} ms`);
          if (c.upstreams_added.length) line(`  started:  ${c.upstreams_added.join(', ')}`);
          if (c.upstreams_removed.length) line(`  stopped:  ${c.upstreams_removed.join(', ')}`);
          if (c.upstreams_restarted.length) line(`  restarted: ${c.upstreams_restarted.join(', ')}`);
          if (c.profiles_changed.length) line(`  tools changed for: ${c.profiles_changed.join(', ')}`);
        }
        return EXIT.ok;
      }),
    );
}
