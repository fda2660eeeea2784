/**
 * `bulkhead pin`: record the reviewed definitions of the tools the policy
 * exposes, and of the prompts, resources and resource templates its profiles
 * list, in bulkhead.lock.json beside it. All upstreams must list: a lock
 * missing an upstream would make the gateway withhold its every tool.
 */
import type { Command } from 'commander';
import { listAll } from '../audit/connect.js';
import { createLock, lockPathFor, writeLock } from '../audit/pin.js';
import { NOTHING_OFFERED, offersInScope, pinItems, pinScope } from '../audit/pin-items.js';
import { BulkheadError } from '../errors.js';
import { loadPolicyFile } from '../policy/load.js';
import { action, EXIT, line, printJson, warn } from './output.js';

export function register(program: Command): void {
  program
    .command('pin')
    .description('write bulkhead.lock.json beside the policy: the gateway serves only these definitions')
    .requiredOption('--policy <file>', 'policy YAML file')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { policy: string; json?: boolean }) => {
        const loaded = loadPolicyFile(opts.policy);
        const listed = await listAll(
          loaded.policy.upstreams,
          { env: process.env, dir: loaded.dir },
          { progress: warn, offered: offersInScope(loaded.policy) },
        );
        const failed = listed.filter((l) => l.error);
        if (failed.length)
          throw new BulkheadError(
            'upstream_start_failed',
            `cannot pin: ${failed.map((f) => `${f.upstream} (${f.error})`).join(', ')} did not list`,
          );
        const exposed = (upstream: string, tool: string) =>
          loaded.policy.tools[upstream]?.[tool]?.expose === true;
        const lock = pinItems(
          createLock(Object.fromEntries(listed.map((l) => [l.upstream, l.tools])), exposed),
          Object.fromEntries(listed.map((l) => [l.upstream, l.offered ?? NOTHING_OFFERED])),
          pinScope(loaded.policy),
        );
        const path = lockPathFor(loaded.file);
        writeLock(path, lock);
        // A rule for a tool the server does not list is a typo or a removed tool: say so.
        const missing = Object.entries(loaded.policy.tools).flatMap(([up, rules]) =>
          Object.entries(rules)
            .filter(([tool, rule]) => rule.expose && lock.tools[up]?.[tool] === undefined)
            .map(([tool]) => `${up}.${tool}`),
        );
        const count = Object.values(lock.tools).reduce((n, t) => n + Object.keys(t).length, 0);
        const others = [lock.prompts, lock.resources, lock.resource_templates].map((section) =>
          Object.values(section ?? {}).reduce((n, byKey) => n + Object.keys(byKey).length, 0),
        );
        const [prompts, resources, templates] = others as [number, number, number];
        if (opts.json)
          printJson({
            path,
            pinned: count,
            prompts,
            resources,
            resource_templates: templates,
            not_listed: missing,
          });
        else {
          line(
            `pinned ${count} tools, ${prompts} prompts, ${resources} resources and ${templates} resource templates in ${path}`,
          );
          if (missing.length) warn(`not listed by their upstream, so not pinned: ${missing.join(', ')}`);
        }
        return EXIT.ok;
      }),
    );
}
