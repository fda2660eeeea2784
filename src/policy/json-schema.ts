/**
 * The policy's JSON Schema, derived from the zod schema (the one source), for
 * editors: `# yaml-language-server: $schema=…` at the top of a policy file
 * gives completion and checks as you type. Checks zod cannot express in JSON
 * Schema (cross-references between sections) stay with `bulkhead lint` and
 * the loader.
 */
import { z } from 'zod';
import { policySchema } from './schema/index.js';

export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }),
    title: 'bulkhead policy',
  };
}
