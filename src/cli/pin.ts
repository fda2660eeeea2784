/** `bulkhead pin`: record the reviewed definitions of the tools the policy exposes. */
import type { Command } from 'commander';
import { collectTools } from '../audit/collect.js';
import { lockPathFor, writeLock } from '../audit/pin.js';
import { BulkheadError } from '../errors.js';
import { loadPolicyFile } from '../policy/load.js';
import { action, line, printJson, warn } from './output.js';

export function register(program: Command): void {
  program
    .command('pin')
    .description('write the pin lock beside the policy: the gateway serves only these definitions')
    .requiredOption('--policy <file>', 'policy YAML file')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { policy: string; json?: boolean }) => {
        const loaded = loadPolicyFile(opts.policy);
        const listed = await collectTools(
          loaded.policy.upstreams,
          { env: process.env, dir: loaded.dir },
          (l) => {
            if (!opts.json) warn(l);
          },
        );
        const failed = listed.filter((l) => l.error);
        if (failed.length)
          throw new BulkheadError(
            'upstream_start_failed',
            `cannot pin: ${failed.map((f) => f.upstream).join(', ')} did not list`,
          );
        const path = lockPathFor(loaded.file);
        const lock = writeLock(
          path,
          Object.fromEntries(listed.map((l) => [l.upstream, l.tools])),
          (upstream, tool) => loaded.policy.tools[upstream]?.[tool]?.expose === true,
        );
        const count = Object.values(lock.tools).reduce((n, t) => n + Object.keys(t).length, 0);
        if (opts.json) printJson({ path, tools: count });
        else line(`pinned ${count} tools in ${path}`);
        return 0;
      }),
    );
}
