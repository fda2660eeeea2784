/**
 * Pins of what else an upstream shows the agent: prompts (name, title,
 * description, arguments, `_meta`, every field), static resources and
 * resource templates (uri or uriTemplate, name, title, description,
 * mimeType, annotations, `_meta`, every field). Each is hashed whole, as the
 * upstream lists it, like a tool (pin.ts): a prompt whose description or
 * arguments change after review, or a template whose description turns into
 * an instruction, is a rug pull and is withheld until pinned again.
 *
 * Keys: a prompt by its name, a resource by its URI, a template by its URI
 * template. Which ones are pinned is the policy's choice (`pinScope`): the
 * prompts some profile lists and the resources and templates some profile's
 * `uris` match.
 */
import type { Prompt, Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import type { Policy } from '../policy/schema/index.js';
import { wildcardMatch } from '../policy/schema/passthrough.js';
import { canonicalHash } from '../util/canonical.js';
import type { PinChange, PinLock, PinnedItem, PinnedItems } from './pin.js';

export type ItemKind = 'prompt' | 'resource' | 'resource_template';

/** What an upstream offers besides tools, as listed. */
export interface Offered {
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
}

export const NOTHING_OFFERED: Offered = { prompts: [], resources: [], resourceTemplates: [] };

export type ItemDefinition = Prompt | Resource | ResourceTemplate;

const SECTIONS = {
  prompt: 'prompts',
  resource: 'resources',
  resource_template: 'resource_templates',
} as const satisfies Record<ItemKind, keyof PinLock>;

/** The lock key of a definition: a prompt's name, a resource's URI, a template's URI template. */
export function itemKey(kind: ItemKind, definition: ItemDefinition): string {
  const d = definition as { name?: unknown; uri?: unknown; uriTemplate?: unknown };
  const key = kind === 'prompt' ? d.name : kind === 'resource' ? d.uri : d.uriTemplate;
  return typeof key === 'string' ? key : '';
}

export function itemHash(definition: ItemDefinition): string {
  return canonicalHash(definition);
}

function pinOf(lock: PinLock, kind: ItemKind, upstream: string, key: string): PinnedItem | undefined {
  const byKey = lock[SECTIONS[kind]]?.[upstream];
  return byKey && Object.hasOwn(byKey, key) ? byKey[key] : undefined;
}

/** Where a listed definition stands against the lock (a version 1 or 2 lock pins none). */
export function itemStatus(
  lock: PinLock,
  kind: ItemKind,
  upstream: string,
  definition: ItemDefinition,
): 'pinned' | 'changed' | 'unpinned' {
  const pin = pinOf(lock, kind, upstream, itemKey(kind, definition));
  if (!pin) return 'unpinned';
  return pin.hash === itemHash(definition) ? 'pinned' : 'changed';
}

function listedOf(offered: Offered, kind: ItemKind): readonly ItemDefinition[] {
  return kind === 'prompt'
    ? offered.prompts
    : kind === 'resource'
      ? offered.resources
      : offered.resourceTemplates;
}

const KINDS: readonly ItemKind[] = ['prompt', 'resource', 'resource_template'];

/** Adds the picked prompts, resources and templates to a lock (and makes it version 3). */
export function pinItems(
  lock: PinLock,
  offered: Record<string, Offered>,
  only: (kind: ItemKind, upstream: string, key: string) => boolean,
): PinLock {
  lock.version = 3;
  for (const kind of KINDS) {
    const section: PinnedItems = {};
    for (const [upstream, listing] of Object.entries(offered)) {
      const byKey: Record<string, PinnedItem> = {};
      for (const definition of listedOf(listing, kind)) {
        const key = itemKey(kind, definition);
        if (!key || !only(kind, upstream, key)) continue;
        const copy = JSON.parse(JSON.stringify(definition)) as Record<string, unknown>;
        byKey[key] = { hash: itemHash(definition), definition: copy };
      }
      if (Object.keys(byKey).length > 0) section[upstream] = byKey;
    }
    lock[SECTIONS[kind]] = section;
  }
  return lock;
}

/**
 * Compares listed prompts, resources and templates with the lock, as `diffPins` does tools: only
 * upstreams present in `current`; `added` only for what `only` picks; changed and removed always.
 */
export function diffItems(
  lock: PinLock,
  current: Record<string, Offered>,
  only: (kind: ItemKind, upstream: string, key: string) => boolean,
): PinChange[] {
  const changes: PinChange[] = [];
  for (const kind of KINDS) {
    for (const [upstream, listing] of Object.entries(current)) {
      const pinned = lock[SECTIONS[kind]]?.[upstream] ?? {};
      const seen = new Set<string>();
      for (const definition of listedOf(listing, kind)) {
        const key = itemKey(kind, definition);
        seen.add(key);
        const after = JSON.parse(JSON.stringify(definition)) as PinChange['after'];
        const pin = Object.hasOwn(pinned, key) ? pinned[key] : undefined;
        if (!pin) {
          if (only(kind, upstream, key)) changes.push({ upstream, tool: key, kind, change: 'added', after });
        } else if (pin.hash !== itemHash(definition)) {
          const before = pin.definition as PinChange['before'];
          changes.push({
            upstream,
            tool: key,
            kind,
            change: 'changed',
            after,
            ...(before ? { before } : {}),
          });
        }
      }
      for (const [key, pin] of Object.entries(pinned)) {
        if (seen.has(key)) continue;
        changes.push({
          upstream,
          tool: key,
          kind,
          change: 'removed',
          before: pin.definition as PinChange['before'],
        });
      }
    }
  }
  return changes;
}

/** Whether some profile is shown prompts or resources of `upstream` (so they are listed to pin). */
export function offersInScope(policy: Policy): (upstream: string) => boolean {
  const profiles = Object.values(policy.profiles);
  return (upstream) =>
    profiles.some(
      (p) =>
        p.prompts.some((n) => n.startsWith(`${upstream}__`)) ||
        p.resources.some((r) => r.upstream === upstream),
    );
}

/** The prompts some profile lists and the resources and templates some profile's `uris` match. */
export function pinScope(policy: Policy): (kind: ItemKind, upstream: string, key: string) => boolean {
  const profiles = Object.values(policy.profiles);
  return (kind, upstream, key) =>
    kind === 'prompt'
      ? profiles.some((p) => p.prompts.includes(`${upstream}__${key}`))
      : profiles.some((p) =>
          p.resources.some((r) => r.upstream === upstream && r.uris.some((u) => wildcardMatch(u, key))),
        );
}
