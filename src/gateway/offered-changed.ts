/**
 * An upstream said its prompts or resources changed (`list_changed`). The
 * gateway re-lists them at once and checks every one some profile may see
 * against the pin lock, so a definition swapped after review is reported
 * (event, notice) when it happens, not only when an agent next lists; then
 * the agents' sessions that see that upstream's prompts or resources are
 * told to re-list. What they get then is listed afresh and checked again
 * (prompts.ts, resources.ts): nothing is served from this re-listing.
 */
import { pinScope } from '../audit/pin-items.js';
import { admitted, MAX_PAGES, type PassthroughDeps } from './passthrough.js';

export async function offeredChanged(
  deps: PassthroughDeps,
  upstream: string,
  what: 'prompts' | 'resources',
  tellSessions: (upstream: string, what: 'prompts' | 'resources') => void,
): Promise<void> {
  const client = deps.pool.client(upstream);
  if (client && deps.pins?.locked) {
    const inScope = pinScope(deps.policy());
    if (what === 'prompts') {
      for (const prompt of await pages(
        (c) => client.listPrompts(c),
        (r) => r.prompts,
      ))
        if (inScope('prompt', upstream, prompt.name))
          admitted(deps, 'prompt', upstream, prompt, `${upstream}__${prompt.name}`);
    } else {
      for (const resource of await pages(
        (c) => client.listResources(c),
        (r) => r.resources,
      ))
        if (inScope('resource', upstream, resource.uri))
          admitted(deps, 'resource', upstream, resource, `resource:${resource.uri}`);
      for (const template of await pages(
        (c) => client.listResourceTemplates(c),
        (r) => r.resourceTemplates,
      ))
        if (inScope('resource_template', upstream, template.uriTemplate))
          admitted(deps, 'resource_template', upstream, template, `resource:${template.uriTemplate}`);
    }
  }
  tellSessions(upstream, what);
}

/** Follows `nextCursor` to the last page (at most MAX_PAGES). */
export async function pages<R extends { nextCursor?: string | undefined }, T>(
  list: (params: { cursor?: string }) => Promise<R>,
  items: (result: R) => T[],
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await list(cursor ? { cursor } : {});
    out.push(...items(result));
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return out;
}
