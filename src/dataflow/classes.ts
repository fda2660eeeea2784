/**
 * Data classes: what a tool's output is (`sources: private | secret` on the
 * tool or its upstream) and whether a tool sends data out of the company (an
 * external sink). Flow rules decide what happens when a run that read private
 * or secret data calls an external sink.
 */
import type { CatalogTool } from '../gateway/catalog.js';
import type { Policy, ToolRule } from '../policy/schema/index.js';
import type { DataClass } from '../runs/run.js';

/** The class of what the tool returns: its own `sources`, else its upstream's; undefined is public. */
export function dataClassOf(
  policy: Pick<Policy, 'upstreams'>,
  tool: Pick<CatalogTool, 'rule' | 'upstream'>,
): DataClass | undefined {
  const declared = tool.rule.sources ?? policy.upstreams[tool.upstream]?.sources;
  return declared === 'public' ? undefined : declared;
}

/**
 * A tool that can carry data out: the `external` class (mail, webhooks,
 * messages), or a tool that reaches the open web (`taints: true`: a fetch
 * whose URL can hold anything the agent puts in it), or one whose upstream
 * says it does (`openWorldHint: true`, read-only or not: a web search sends
 * its query out). A server's hint is trusted only in this direction, to make
 * a tool stricter; a policy that calls such a tool `read` does not make its
 * query stay inside.
 */
export function isExternalSink(
  rule: Pick<ToolRule, 'class' | 'taints'>,
  hints?: { openWorldHint?: boolean | undefined },
): boolean {
  return rule.class === 'external' || rule.taints === true || hints?.openWorldHint === true;
}

/**
 * A tool whose output is open-world content, which taints the run: the policy says so
 * (`taints: true`), or, the policy silent, its own server says it reads the open world
 * (`openWorldHint` with `readOnlyHint`: a fetch, a web search; a tool that writes out answers
 * with a receipt). The flow stage took that hint for a way out while its output left the run
 * clean, so a page's instructions reached the agent unmarked. A hint only adds taint; the
 * policy's `taints: false` is the operator's word.
 */
export function readsOpenWorld(
  rule: Pick<ToolRule, 'taints'>,
  hints?: { openWorldHint?: boolean | undefined; readOnlyHint?: boolean | undefined },
): boolean {
  if (rule.taints !== undefined) return rule.taints;
  return hints?.openWorldHint === true && hints.readOnlyHint === true;
}
