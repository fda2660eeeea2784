/**
 * An upstream's schema defaults are values it applies to what the agent left
 * out: the validator applies them itself (ajv's `useDefaults`), before the
 * tightened schema is checked, so a default passes the policy's tightening,
 * shows in an approval and the audit trail, and reaches the upstream
 * explicitly. Checked without them, a left-out `limit` slipped past a
 * `maximum: 50` and ran with the upstream's 1000, and an approver approved a
 * purge without seeing its `dry_run: false`.
 *
 * A `null` default is left out: schema generators write it for an optional
 * argument (`anyOf: [T, null], default: null`), where it says none was given;
 * filled in, it would fail a pattern the policy put on that argument.
 */
import type { JsonSchema } from './tighten.js';
import { DATA_KEYWORDS } from './tighten-references.js';

/** Keywords whose members are schemas by name (a property called `default` is a schema there). */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);

/** `schema` without its `default: null` keywords: the same object when it has none, else a copy. */
export function withoutNullDefaults(schema: JsonSchema): JsonSchema {
  if (!walk(schema, false)) return schema;
  const copy = structuredClone(schema);
  walk(copy, true);
  return copy;
}

/** Whether a schema node below `root` has `default: null`; removes each one when `remove`. */
function walk(root: JsonSchema, remove: boolean): boolean {
  let found = false;
  // An explicit stack: schema-cost.ts bounds the depth, but a walk should not lean on it.
  const stack: { node: unknown; isSchema: boolean }[] = [{ node: root, isSchema: true }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { node, isSchema } = next;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const item of node) stack.push({ node: item, isSchema: true });
      continue;
    }
    const record = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (!isSchema) {
        // A map of schemas by name: every member is a schema, whatever its name.
        stack.push({ node: value, isSchema: true });
        continue;
      }
      if (key === 'default' && value === null) {
        found = true;
        if (!remove) return true;
        delete record[key];
        continue;
      }
      if (DATA_KEYWORDS.has(key)) continue;
      stack.push({ node: value, isSchema: !SCHEMA_MAPS.has(key) });
    }
  }
  return found;
}
