/**
 * Live policy: SIGHUP, `bulkhead reload` (POST /api/policy/reload) and the
 * optional file watch all land here. A reload validates everything that can
 * fail before it changes anything, then swaps in one synchronous step:
 *
 * 1. read and validate the file (errors name file:line:column), resolve its
 *    secrets, refuse changes that need a restart (store, llm, gateway);
 * 2. start the upstreams that are new or whose configuration changed (their
 *    tools reach nobody yet); any failure stops them again and keeps the old
 *    policy running;
 * 3. swap, with no `await` in between, so no call ever sees a mix: the live
 *    policy object's sections, the catalog's rules and entries, the pool's
 *    slots, operators, notifiers and per-profile scrubbers;
 * 4. tell the sessions whose profile now sees different tools (list_changed),
 *    record the reload as an audit event, and stop the upstreams that left
 *    once the calls running on them have finished.
 *
 * A call in flight keeps what it captured when it started (its profile and
 * catalog entry, the upstream connection it is using), so it finishes under
 * the policy it started with.
 */
import { BulkheadError, type ErrorCode, isBulkheadError } from '../errors.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import { loadPolicyFile } from '../policy/load.js';
import type { Policy } from '../policy/schema/index.js';
import type { Catalog } from './catalog.js';
import type { PreparedUpstream, RetiredUpstream, UpstreamPool } from './upstream-pool.js';

/** Sections read once at start-up: changing them needs a restart, so a reload refuses them. */
const RESTART_ONLY = ['store', 'llm', 'gateway'] as const;

export interface ReloadChanges {
  upstreams_added: string[];
  upstreams_removed: string[];
  upstreams_restarted: string[];
  /** Profiles whose visible tool list changed; their sessions got list_changed. */
  profiles_changed: string[];
}

export type ReloadOutcome =
  | { ok: true; file: string; changes: ReloadChanges; ms: number }
  | { ok: false; file: string; code: ErrorCode; message: string };

export interface ReloadDeps {
  file: string;
  /** The gateway's one policy object: its sections are replaced in place, atomically. */
  live: Policy;
  pool: UpstreamPool;
  catalog: Catalog;
  toolsChanged: (profiles: ReadonlySet<string>) => void;
  events: EventWriter;
  logger: Logger;
  /**
   * Builds, from the new policy, the parts that depend on it and can fail
   * (secrets of operators and notifiers); returns the synchronous step that
   * puts them in place. Throws to refuse the reload.
   */
  prepare: (next: Policy) => () => void;
  /** How long a removed upstream may finish its running calls before it is stopped. */
  drainMs?: number;
}

export class PolicyReloader {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ReloadDeps) {}

  /** Reloads the policy file; reloads never overlap (a second one waits for the first). */
  reload(actor: string): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.run(actor));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(actor: string): Promise<ReloadOutcome> {
    const started = performance.now();
    const { file, live, pool, catalog } = this.deps;
    let outcome: ReloadOutcome;
    const prepared: PreparedUpstream[] = [];
    try {
      const next = loadPolicyFile(file).policy;
      const refused = RESTART_ONLY.filter((key) => canonical(live[key]) !== canonical(next[key]));
      if (refused.length > 0) {
        throw new BulkheadError(
          'restart_required',
          `${file}: changing ${refused.join(', ')} needs a restart; the running policy was kept`,
        );
      }
      const commitParts = this.deps.prepare(next);
      const before = new Set(Object.keys(live.upstreams));
      const after = new Set(Object.keys(next.upstreams));
      const removed = [...before].filter((n) => !after.has(n));
      const added = [...after].filter((n) => !before.has(n));
      const restarted = [...after].filter(
        (n) => before.has(n) && canonical(live.upstreams[n]) !== canonical(next.upstreams[n]),
      );
      const toStart = [...added, ...restarted];
      const results = await Promise.allSettled(
        toStart.map((name) => pool.prepare(name, next.upstreams[name] as Policy['upstreams'][string])),
      );
      for (const r of results) if (r.status === 'fulfilled') prepared.push(r.value);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;

      // The swap: synchronous from here to the end of the block.
      const seen = toolLists(live, catalog);
      replaceSections(live, next);
      const retired: RetiredUpstream[] = [];
      for (const name of removed) {
        const old = pool.detach(name);
        if (old) retired.push(old);
        catalog.removeUpstream(name);
      }
      for (const p of prepared.splice(0)) {
        const old = pool.install(p);
        if (old) retired.push(old);
      }
      // Before the catalog is rebuilt: the re-read pin lock and new secrets apply to its entries.
      commitParts();
      catalog.setRules(next.tools);
      for (const name of pool.names()) catalog.update(name, pool.tools(name));
      const changed = changedProfiles(seen, toolLists(live, catalog));
      // End of the swap.

      this.deps.toolsChanged(changed);
      const drainMs = this.deps.drainMs ?? 60_000;
      for (const old of retired) {
        void pool
          .retire(old, drainMs)
          .catch((error: unknown) =>
            this.deps.logger.warn({ err: error, upstream: old.name }, 'stop failed'),
          );
      }
      outcome = {
        ok: true,
        file,
        ms: Math.round(performance.now() - started),
        changes: {
          upstreams_added: added,
          upstreams_removed: removed,
          upstreams_restarted: restarted,
          profiles_changed: [...changed].sort(),
        },
      };
    } catch (error) {
      await Promise.all(prepared.map((p) => pool.discard(p)));
      outcome = isBulkheadError(error)
        ? { ok: false, file, code: error.code, message: error.message }
        : { ok: false, file, code: 'policy_invalid', message: `${file}: ${String(error)}` };
    }
    await this.record(actor, outcome);
    return outcome;
  }

  private async record(actor: string, outcome: ReloadOutcome): Promise<void> {
    if (outcome.ok) this.deps.logger.info({ actor, ...outcome.changes }, 'policy reloaded');
    else this.deps.logger.error({ actor, code: outcome.code }, `policy reload refused: ${outcome.message}`);
    await this.deps.events
      .write({
        kind: 'policy.reloaded',
        actor,
        decision: outcome.ok ? 'allow' : 'deny',
        code: outcome.ok ? null : outcome.code,
        data: outcome.ok
          ? { file: outcome.file, ms: outcome.ms, ...outcome.changes }
          : { file: outcome.file, message: outcome.message },
      })
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'could not record a policy reload'));
  }
}

/** What each profile sees, as comparable text: exposed names with their definitions. */
export function toolLists(policy: Policy, catalog: Catalog): Map<string, string> {
  return new Map(
    Object.entries(policy.profiles).map(([name, profile]) => [
      name,
      canonical(catalog.forProfile(profile.tools).map((t) => t.definition)),
    ]),
  );
}

/** Profiles whose tool list differs between two `toolLists` snapshots. */
export function changedProfiles(before: Map<string, string>, after: Map<string, string>): Set<string> {
  return new Set(
    [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p)),
  );
}

/** Replaces the live policy's sections with the new ones; readers hold the object, not the sections. */
function replaceSections(live: Policy, next: Policy): void {
  const target = live as unknown as Record<string, unknown>;
  const source = next as unknown as Record<string, unknown>;
  for (const key of Object.keys(target)) if (!(key in source)) delete target[key];
  for (const key of Object.keys(source)) target[key] = source[key];
}

/** JSON with sorted keys, so reordering a YAML file is not a change. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
