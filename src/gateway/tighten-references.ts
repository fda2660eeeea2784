/**
 * References in a tightened schema: every `$ref` of a hardened node must
 * land on a hardened node (see tighten.ts). `unevaluatedProperties: false`
 * counts the keys any applied subschema evaluated, so a reference to a place
 * the hardening walk never reached opened the referring object to any key.
 */
import type { JsonSchema } from './tighten.js';

/** What one tightening walk shares: the policy's open maps, problems, and the nodes hardened. */
export interface Walk {
  open: WeakSet<JsonSchema>;
  problems: string[];
  /** Nodes hardened in a position that applies to a value (not under `not` or `if`). */
  visited: WeakSet<JsonSchema>;
  root: JsonSchema;
}

/** Hardens a copied reference target as a branch, marking its nodes visited. */
export type HardenBranch = (node: JsonSchema) => void;

/** Keywords whose values are data, not schemas: a `$ref` string inside them is not a reference. */
export const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);
/** Keywords that move a reference's base or name a target by something other than its place. */
const UNFOLLOWED = ['$dynamicRef', '$recursiveRef', '$anchor', '$dynamicAnchor', '$recursiveAnchor'];

/**
 * Every `$ref` of a hardened node must land on a hardened node. An upstream can point one at a
 * place the walk does not harden (inside `not` or `if`, under a keyword of its own like
 * `x-defs`, `#/properties/p/if`) whose `additionalProperties: true` would then open the
 * referring object. Such a target is copied into the root's `$defs` and hardened there as a
 * branch (hardening it in place would narrow what a `not` negates, which widens), and the
 * reference is rewritten to the copy. A reference the gateway cannot resolve as a JSON pointer
 * into this document (an anchor, another document, a base moved by a nested `$id`) keeps the
 * tool out: what it would apply cannot be hardened.
 */
export function followReferences(walk: Walk, harden: HardenBranch, closedName: string): void {
  const queue: JsonSchema[] = [walk.root];
  const done = new WeakSet<JsonSchema>();
  const copied = new Map<JsonSchema, string>();
  while (queue.length > 0 && walk.problems.length === 0) {
    const node = queue.pop() as JsonSchema;
    if (done.has(node)) continue;
    done.add(node);
    if (node !== walk.root && walk.visited.has(node) && node.$id !== undefined) {
      walk.problems.push(`the upstream schema sets a nested $id (${describe(node.$id)}); it is not followed`);
      return;
    }
    for (const key of UNFOLLOWED) {
      if (walk.visited.has(node) && node[key] !== undefined) {
        walk.problems.push(`the upstream schema uses ${key} (${describe(node[key])}); it is not followed`);
        return;
      }
    }
    if (walk.visited.has(node) && node.$ref !== undefined && node.$ref !== `#/$defs/${closedName}`) {
      const target = typeof node.$ref === 'string' ? resolvePointer(walk.root, node.$ref) : undefined;
      if (!target) {
        walk.problems.push(`the upstream schema's $ref ${describe(node.$ref)} does not resolve in it`);
        return;
      }
      if (!walk.visited.has(target)) {
        // One copy per target, however many references name it: a copy per reference grew
        // exponentially with targets that name the next one twice (22 levels, minutes).
        let name = copied.get(target);
        if (name === undefined) {
          name = `${closedName}_ref${copied.size}`;
          copied.set(target, name);
          const copy = structuredClone(target);
          harden(copy);
          const defs = isSchema(walk.root.$defs) ? walk.root.$defs : {};
          walk.root.$defs = { ...defs, [name]: copy };
          queue.push(copy);
        }
        node.$ref = `#/$defs/${name}`;
      }
    }
    for (const [key, child] of Object.entries(node)) {
      if (DATA_KEYWORDS.has(key)) continue;
      if (isSchema(child)) queue.push(child);
      else if (Array.isArray(child)) for (const item of child) if (isSchema(item)) queue.push(item);
    }
  }
}

/** The node a local JSON pointer reference (`#/$defs/A`, `#`) names in `root`, if any. */
export function resolvePointer(root: JsonSchema, ref: string): JsonSchema | undefined {
  if (ref !== '#' && !ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref === '#' ? [] : ref.slice(2).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    } catch {
      return undefined;
    }
    if (Array.isArray(node) && /^(0|[1-9]\d*)$/.test(segment)) node = node[Number(segment)];
    else if (isSchema(node) && Object.hasOwn(node, segment)) node = node[segment];
    else return undefined;
  }
  return isSchema(node) ? node : undefined;
}

function describe(value: unknown): string {
  return JSON.stringify(value)?.slice(0, 80) ?? String(value);
}

function isSchema(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
