/**
 * The gateway's side of pins: with a lock beside the policy, a tool, prompt,
 * resource or resource template is served only as it was reviewed. Anything
 * else — changed since the pin (a rug pull?) or never pinned (added after
 * review) — is withheld from lists and refused when used, and the operator
 * hears of it the same way for every kind: a `tool.changed` event (its
 * `data.definition` says which kind) and a `tool.changed` notice. Each
 * withheld definition is reported once per distinct version, since prompts
 * and resources are checked on every listing an agent asks for.
 *
 * The lock is read at start and again on every policy reload, so a
 * definition re-pinned after review is served without a restart.
 */
import type { PinLock } from '../audit/pin.js';
import { pinStatus, toolHash } from '../audit/pin.js';
import { type ItemDefinition, type ItemKind, itemHash, itemKey, itemStatus } from '../audit/pin-items.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { CatalogTool } from './catalog.js';

export type Admission = { ok: true } | { ok: false; reason: string; status: 'changed' | 'unpinned' };

const LABEL: Record<ItemKind | 'tool', string> = {
  tool: 'Tool',
  prompt: 'Prompt',
  resource: 'Resource',
  resource_template: 'Resource template',
};

/** The event's field naming what was withheld, as the upstream calls it. */
const FIELD: Record<ItemKind | 'tool', string> = {
  tool: 'tool',
  prompt: 'prompt',
  resource: 'uri',
  resource_template: 'uriTemplate',
};

export class DefinitionPins {
  /** kind/upstream/key → hash of the version last reported withheld. */
  private readonly reported = new Map<string, string>();

  constructor(
    private lock: PinLock | undefined,
    private readonly deps: { events: EventWriter; notifier: Notifier; logger: Logger },
  ) {}

  /** Whether a lock is in force (without one, everything the policy allows is served). */
  get locked(): boolean {
    return this.lock !== undefined;
  }

  /** A lock re-read by a policy reload (undefined: no lock, everything the policy allows is served). */
  setLock(lock: PinLock | undefined): void {
    this.lock = lock;
    this.reported.clear();
  }

  /** For the catalog: whether a (re)listed tool may be served. */
  admitTool(entry: CatalogTool): Admission {
    if (!this.lock) return { ok: true };
    const status = pinStatus(this.lock, entry.upstream, entry.upstreamDefinition);
    if (status === 'pinned') return { ok: true };
    const def = entry.upstreamDefinition;
    return this.withhold('tool', entry.upstream, entry.original, entry.exposed, status, toolHash(def), {
      description: def.description ?? null,
      title: def.title ?? null,
    });
  }

  /**
   * Whether a listed prompt, resource or template may be shown (or used). `shown` is how the
   * operator knows it: the exposed prompt name, or `resource:<uri>`.
   */
  admit(kind: ItemKind, upstream: string, definition: ItemDefinition, shown: string): Admission {
    if (!this.lock) return { ok: true };
    const status = itemStatus(this.lock, kind, upstream, definition);
    if (status === 'pinned') return { ok: true };
    const d = definition as { description?: unknown; title?: unknown };
    return this.withhold(kind, upstream, itemKey(kind, definition), shown, status, itemHash(definition), {
      description: typeof d.description === 'string' ? d.description : null,
      title: typeof d.title === 'string' ? d.title : null,
    });
  }

  private withhold(
    kind: ItemKind | 'tool',
    upstream: string,
    key: string,
    shown: string,
    status: 'changed' | 'unpinned',
    hash: string,
    detail: { description: string | null; title: string | null },
  ): Admission {
    const reason =
      status === 'changed'
        ? 'its definition changed since it was pinned (a rug pull?): review it, then run bulkhead pin'
        : 'it is not in the pin lock: review it, then run bulkhead pin';
    const id = `${kind}\u0000${upstream}\u0000${key}`;
    if (this.reported.get(id) !== hash) {
      this.reported.set(id, hash);
      const name = FIELD[kind];
      // The event and notice are scrubbed by their writers; the description is what an operator reviews.
      void this.deps.events
        .write({
          kind: 'tool.changed',
          tool: shown,
          code: status,
          actor: 'system',
          data: { definition: kind, upstream, [name]: key, ...detail },
        })
        .catch((error: unknown) =>
          this.deps.logger.error({ err: error }, 'could not record a definition change'),
        );
      this.deps.notifier.send({
        kind: 'tool.changed',
        title: `${LABEL[kind]} ${shown} withheld: ${reason}`,
        data: { definition: kind, upstream, [name]: key },
      });
      // A withheld tool is logged by the catalog (as a tool not exposed).
      if (kind !== 'tool')
        this.deps.logger.warn({ upstream, definition: kind, key }, `${shown} withheld: ${reason}`);
    }
    return { ok: false, reason, status };
  }
}
