/**
 * `resources/*` from upstreams, under the profile's `resources` allow-list
 * (see passthrough.ts for what every answer goes through). A URI is routed to
 * the upstream of the first allow entry whose pattern matches it; a URI no
 * entry matches is refused without reaching any upstream. Listing shows only
 * the resources and templates the profile may read.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import {
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import { textsOfContents } from '../dataflow/values.js';
import { cleanDeep } from '../inspect/deep.js';
import { Inspector } from '../inspect/inspector.js';
import { taintBeforeText } from '../pipeline/taint.js';
import type { Profile } from '../policy/schema/index.js';
import { type ResourceAllow, wildcardMatch } from '../policy/schema/passthrough.js';
import { pages } from './offered-changed.js';
import {
  admitted,
  checkOutflow,
  cleanListed,
  contextFor,
  deliver,
  forwardProgress,
  guarded,
  MAX_ANSWER_BYTES,
  markSourceRead,
  type PassthroughDeps,
  refuse,
  upstreamPart,
} from './passthrough.js';
import { uriProblem } from './resource-uri.js';

/**
 * The two listings differ only in what they ask an upstream for and which field addresses an
 * item (a resource's URI, a template's URI template); one piece lists, filters and cleans both.
 */
interface Listing<T extends Resource | ResourceTemplate> {
  method: 'resources/list' | 'resources/templates/list';
  kind: 'resource' | 'resource_template';
  /** Every item the upstream offers, all pages. */
  fetch: (client: Client, signal: AbortSignal) => Promise<T[]>;
  address: (item: T) => string;
}

const RESOURCES: Listing<Resource> = {
  method: 'resources/list',
  kind: 'resource',
  fetch: (client, signal) =>
    pages(
      (params) => client.listResources(params, { signal }),
      (r) => r.resources,
    ),
  address: (r) => r.uri,
};

const TEMPLATES: Listing<ResourceTemplate> = {
  method: 'resources/templates/list',
  kind: 'resource_template',
  fetch: (client, signal) =>
    pages(
      (params) => client.listResourceTemplates(params, { signal }),
      (r) => r.resourceTemplates,
    ),
  address: (t) => t.uriTemplate,
};

/**
 * What the profile may read of one listing, from every upstream it names: each item routed to its
 * upstream by the allow-list, admitted by the pins, cleaned; the listing is an audit event.
 */
async function listAllowed<T extends Resource | ResourceTemplate>(
  deps: PassthroughDeps,
  runId: string,
  listing: Listing<T>,
  signal: AbortSignal,
): Promise<T[]> {
  const ctx = await contextFor(deps, runId, 'resources/list', null);
  const listed: T[] = [];
  for (const upstream of upstreamsOf(ctx.profile)) {
    const client = deps.pool.client(upstream);
    if (!client) continue;
    const items = await upstreamPart(deps, upstream, listing.method, () => listing.fetch(client, signal));
    listed.push(
      ...items.filter((item) => {
        const address = listing.address(item);
        return (
          allowFor(ctx.profile, address)?.upstream === upstream &&
          admitted(deps, listing.kind, upstream, item, `resource:${address}`)
        );
      }),
    );
  }
  await deps.events.write({
    kind: 'resources/list',
    runId,
    decision: 'allow',
    actor: ctx.actor,
    data: { count: listed.length, ...(listing === TEMPLATES ? { templates: true } : {}) },
  });
  return cleanListed(deps, listed, listing.kind === 'resource' ? 'resource' : 'resource template');
}

export function registerResourceHandlers(server: Server, deps: PassthroughDeps, runId: string): void {
  server.setRequestHandler(
    ListResourcesRequestSchema,
    guarded(deps, 'resources/list', async (_request, extra) => ({
      resources: await listAllowed(deps, runId, RESOURCES, extra.signal),
    })),
  );

  server.setRequestHandler(
    ListResourceTemplatesRequestSchema,
    guarded(deps, 'resources/templates/list', async (_request, extra) => ({
      resourceTemplates: await listAllowed(deps, runId, TEMPLATES, extra.signal),
    })),
  );

  server.setRequestHandler(
    ReadResourceRequestSchema,
    guarded(deps, 'resources/read', async (request, extra) => {
      const uri = request.params.uri;
      const subject = `resource:${uri.slice(0, 200)}`;
      const ctx = await contextFor(deps, runId, 'resources/read', subject);
      const problem = uriProblem(uri);
      if (problem) {
        // The event keeps the URI's start and its length: a refused URI may be megabytes.
        return refuse(deps, runId, 'resources/read', subject, 'invalid_arguments', problem, {
          uri: uri.slice(0, 1024),
          length: uri.length,
        });
      }
      const allow = allowFor(ctx.profile, uri);
      if (!allow) {
        return refuse(
          deps,
          runId,
          'resources/read',
          subject,
          'resource_not_in_scope',
          'This resource is not available.',
          { uri },
        );
      }
      const client = deps.pool.client(allow.upstream);
      if (!client) {
        return refuse(
          deps,
          runId,
          'resources/read',
          subject,
          'upstream_unavailable',
          'The service behind this resource is unavailable.',
          { uri, upstream: allow.upstream },
        );
      }
      // The URI reaches the upstream: a way out once the run read private data (passthrough-flow.ts).
      await checkOutflow(deps, ctx, 'resources/read', subject, allow.upstream, allow.taints, { uri });
      const pin = await pinFor(deps, client, allow.upstream, uri, extra.signal).catch((error: unknown) => {
        deps.logger.warn(
          { runId, upstream: allow.upstream, err: error },
          'resources/read: listing to check pins failed',
        );
        return 'failed' as const;
      });
      if (pin === 'failed') {
        return refuse(
          deps,
          runId,
          'resources/read',
          subject,
          'upstream_error',
          'The resource could not be read.',
          { uri, upstream: allow.upstream },
        );
      }
      if (pin !== 'pinned') {
        // Refused as a resource not offered (the agent learns nothing); the operator sees why.
        return refuse(
          deps,
          runId,
          'resources/read',
          subject,
          'resource_not_in_scope',
          'This resource is not available.',
          { uri, upstream: allow.upstream, withheld: pin },
        );
      }
      const timeout = deps.policy().upstreams[allow.upstream]?.call_timeout ?? 30_000;
      let answer: ReadResourceResult;
      const declared = allow.sources ?? deps.policy().upstreams[allow.upstream]?.sources;
      const progress = forwardProgress(
        client,
        request.params._meta?.progressToken,
        extra.sendNotification,
        declared && declared !== 'public' ? undefined : deps.scrubberFor(ctx.run.profile).text,
        allow.taints ? taintBeforeText(() => deps.runs.taint(ctx.run.id, subject)) : undefined,
      );
      try {
        answer = await client.readResource({ uri, ...progress.params }, { signal: extra.signal, timeout });
        await progress.settled();
      } catch (error) {
        progress.release();
        // The upstream's own message may carry its internals: the agent gets a code only.
        deps.logger.warn({ runId, upstream: allow.upstream, err: error }, 'resources/read failed upstream');
        return refuse(
          deps,
          runId,
          'resources/read',
          subject,
          'upstream_error',
          'The resource could not be read.',
          { uri, upstream: allow.upstream },
        );
      }
      await markSourceRead(deps, ctx, subject, declared, {
        items: answer.contents?.length ?? 0,
        texts: (answer.contents ?? []).flatMap(textsOfContents),
      });
      const inspector = new Inspector(MAX_ANSWER_BYTES, deps.scrubberFor(ctx.run.profile).text);
      const contents = (answer.contents ?? []).map((content, i) =>
        inspectContents(inspector, content, `contents[${i}]`),
      );
      const out: ReadResourceResult = { contents };
      if (answer._meta) {
        const meta = inspector.data({ _meta: answer._meta }, 'result') as Pick<ReadResourceResult, '_meta'>;
        if (meta._meta && Object.keys(meta._meta).length > 0) out._meta = meta._meta;
      }
      return deliver(deps, ctx, 'resources/read', subject, inspector, out, {
        taints: allow.taints,
        data: { uri, upstream: allow.upstream, contents: contents.length },
        shown: progress.shown(),
      });
    }),
  );
}

/**
 * With a pin lock, a URI is read only through a definition as reviewed: the static resource of
 * that URI, else a resource template that matches it. Both are listed afresh, so a definition
 * swapped after review withholds the reads it covers at once, as a changed tool is not callable.
 */
async function pinFor(
  deps: PassthroughDeps,
  client: Client,
  upstream: string,
  uri: string,
  signal: AbortSignal,
): Promise<'pinned' | 'changed' | 'unpinned'> {
  const pins = deps.pins;
  if (!pins?.locked) return 'pinned';
  const resources = await RESOURCES.fetch(client, signal);
  const exact = resources.find((r) => r.uri === uri);
  if (exact) {
    const pin = pins.admit('resource', upstream, exact, `resource:${uri}`);
    return pin.ok ? 'pinned' : pin.status;
  }
  const templates = await TEMPLATES.fetch(client, signal);
  let status: 'changed' | 'unpinned' = 'unpinned';
  for (const template of templates.filter((t) => templateMatches(t.uriTemplate, uri))) {
    const pin = pins.admit('resource_template', upstream, template, `resource:${template.uriTemplate}`);
    if (pin.ok) return 'pinned';
    if (pin.status === 'changed') status = 'changed';
  }
  return status;
}

function templateMatches(template: string, uri: string): boolean {
  try {
    return new UriTemplate(template).match(uri) !== null;
  } catch {
    // A template the SDK cannot parse covers nothing.
    return false;
  }
}

type Contents = ReadResourceResult['contents'][number];

/** One resource content: text cleaned and charged, a blob charged by size (dropped over budget). */
function inspectContents(inspector: Inspector, content: Contents, where: string): Contents {
  const cleaned = cleanDeep(content, {
    text: (text, path) => inspector.text(text, path === 'text' ? where : `${where}.${path}`),
    key: (key, path) => inspector.clean(key, `${where}.${path}`),
    verbatim: (path) => path === 'blob',
    onForgedMeta: (key, path) => inspector.note('forged_meta', `${where}.${path}: ${key}`),
  }) as Contents;
  if ('blob' in cleaned && typeof cleaned.blob === 'string') {
    const bytes = Math.floor((cleaned.blob.length * 3) / 4);
    if (!inspector.charge(bytes)) {
      inspector.note('media_dropped', `${where}: blob of ${bytes} bytes over the remaining budget`);
      return { uri: cleaned.uri, text: `[bulkhead: resource (${bytes} bytes) removed: over the size limit]` };
    }
    const blob = inspector.textBlob(cleaned.blob, cleaned.mimeType, `${where}.blob`);
    if (blob !== cleaned.blob) return { ...cleaned, blob };
  }
  return cleaned;
}

/** The first allow entry of the profile that matches a URI (or a URI template, literally). */
export function allowFor(profile: Profile, uri: string): ResourceAllow | undefined {
  return profile.resources.find((entry) => entry.uris.some((pattern) => wildcardMatch(pattern, uri)));
}

function upstreamsOf(profile: Profile): string[] {
  return [...new Set(profile.resources.map((entry) => entry.upstream))];
}
