/**
 * Resources and prompts an upstream offers reach an agent only when its
 * profile lists them: off unless listed, as tools are. A resource entry names
 * its upstream and the URIs it may read (`*` matches any run of characters,
 * also in a template such as `note://item/{id}`); a prompt is listed by its
 * exposed name, `<upstream>__<prompt>`. What they return counts for flow rules
 * as a tool's output does: an entry's `sources`, else its upstream's.
 */
import { z } from 'zod';
import { dataSources } from './tool.js';

export const resourceAllow = z
  .object({
    upstream: z.string().min(1),
    uris: z
      .array(z.string().min(1).max(2048))
      .min(1)
      .describe('URIs (and URI templates) this profile may list and read; * matches any run of characters'),
    taints: z
      .boolean()
      .default(false)
      .describe('reading one of these marks the run as having seen untrusted content'),
    sources: dataSources
      .optional()
      .describe("what these resources hold; overrides the upstream's sources (public, private, secret)"),
  })
  .strict();
export type ResourceAllow = z.infer<typeof resourceAllow>;

export const passthroughFields = {
  resources: z
    .array(resourceAllow)
    .default([])
    .describe('upstream resources this profile may list and read; none when empty'),
  prompts: z
    .array(z.string().regex(/^[a-zA-Z0-9_-]{1,64}__[^\s]{1,128}$/, '<upstream>__<prompt>'))
    .default([])
    .describe('upstream prompts this profile may list and get, as <upstream>__<prompt>; none when empty'),
};

/** Whether `text` matches `pattern`, where `*` matches any run of characters. Linear in practice. */
export function wildcardMatch(pattern: string, text: string): boolean {
  // Greedy two-pointer match with one backtrack point: O(pattern × text) at worst, both bounded.
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
