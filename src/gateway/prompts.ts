/**
 * `prompts/*` from upstreams, under the profile's `prompts` allow-list of
 * exposed names (`<upstream>__<prompt>`; see passthrough.ts for what every
 * answer goes through). A prompt is text an upstream wants put in front of the
 * model, so it is treated as tool output: inspected, scrubbed, flagged. Its
 * arguments are checked against what the upstream declared: an argument it
 * does not declare, or a missing required one, is refused before the upstream
 * is asked.
 */

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  GetPromptRequestSchema,
  type GetPromptResult,
  ListPromptsRequestSchema,
  type Prompt,
} from '@modelcontextprotocol/sdk/types.js';
import { textsOfContents } from '../dataflow/values.js';
import { Inspector } from '../inspect/inspector.js';
import type { DroppedKeys } from './dropped-keys.js';
import {
  admitted,
  checkOutflow,
  cleanListed,
  contextFor,
  deliver,
  guarded,
  MAX_ANSWER_BYTES,
  MAX_PAGES,
  markSourceRead,
  type PassthroughDeps,
  refuse,
  upstreamPart,
} from './passthrough.js';

/** Longest argument value passed on; prompts are templates, not payloads. */
export const MAX_PROMPT_ARGUMENT = 8192;

export function registerPromptHandlers(
  server: Server,
  deps: PassthroughDeps,
  runId: string,
  dropped?: DroppedKeys,
): void {
  server.setRequestHandler(
    ListPromptsRequestSchema,
    guarded(deps, 'prompts/list', async (_request, extra) => {
      const ctx = await contextFor(deps, runId, 'prompts/list', null);
      const prompts: Prompt[] = [];
      for (const [upstream, names] of byUpstream(ctx.profile.prompts)) {
        const client = deps.pool.client(upstream);
        if (!client) continue;
        for (const prompt of await upstreamPart(deps, upstream, 'prompts/list', () =>
          listAll(client, extra.signal),
        )) {
          const exposed = `${upstream}__${prompt.name}`;
          // Pinned as the upstream lists it (before renaming): a drifted prompt is not shown.
          if (!names.has(prompt.name) || !admitted(deps, 'prompt', upstream, prompt, exposed)) continue;
          prompts.push({ ...prompt, name: exposed });
        }
      }
      await deps.events.write({
        kind: 'prompts/list',
        runId,
        decision: 'allow',
        actor: ctx.actor,
        data: { count: prompts.length },
      });
      return { prompts: cleanListed(deps, prompts, 'prompt') };
    }),
  );

  server.setRequestHandler(
    GetPromptRequestSchema,
    guarded(deps, 'prompts/get', async (request, extra) => {
      const exposed = request.params.name;
      const subject = `prompt:${exposed.slice(0, 200)}`;
      const ctx = await contextFor(deps, runId, 'prompts/get', subject);
      // Exact lookup, as for tools: no case folding, no fallback to the upstream's own name.
      const split = ctx.profile.prompts.includes(exposed) ? splitName(exposed) : undefined;
      if (!split) {
        return refuse(
          deps,
          runId,
          'prompts/get',
          subject,
          'prompt_not_in_scope',
          'This prompt is not available.',
        );
      }
      const client = deps.pool.client(split.upstream);
      // A failing listing is an unavailable upstream: its error goes to the log, not to the agent.
      const declared = client
        ? (
            await upstreamPart(deps, split.upstream, 'prompts/get: listing', () =>
              listAll(client, extra.signal),
            )
          ).find((p) => p.name === split.prompt)
        : undefined;
      if (!client || !declared) {
        return refuse(
          deps,
          runId,
          'prompts/get',
          subject,
          'upstream_unavailable',
          'The service behind this prompt is unavailable.',
        );
      }
      const pin = deps.pins?.admit('prompt', split.upstream, declared, exposed);
      if (pin && !pin.ok) {
        // Refused as a prompt not offered (the agent learns nothing); the operator sees why.
        return refuse(
          deps,
          runId,
          'prompts/get',
          subject,
          'prompt_not_in_scope',
          'This prompt is not available.',
          {
            withheld: pin.status,
          },
        );
      }
      const args = request.params.arguments ?? {};
      // A `__proto__` argument the SDK's parsing removed: refused, not forwarded without it.
      const droppedKey = dropped?.take(extra.requestId);
      const problem =
        droppedKey !== undefined
          ? `Argument ${droppedKey} is not accepted by this prompt.`
          : argumentProblem(declared, args);
      if (problem) {
        return refuse(deps, runId, 'prompts/get', subject, 'invalid_arguments', problem, {
          arguments: Object.keys(args),
        });
      }
      // The arguments reach the upstream: a way out once the run read private data (passthrough-flow.ts).
      await checkOutflow(deps, ctx, 'prompts/get', subject, split.upstream, false, args);
      const timeout = deps.policy().upstreams[split.upstream]?.call_timeout ?? 30_000;
      let answer: GetPromptResult;
      try {
        answer = await client.getPrompt(
          { name: split.prompt, arguments: args },
          { signal: extra.signal, timeout },
        );
      } catch (error) {
        deps.logger.warn({ runId, upstream: split.upstream, err: error }, 'prompts/get failed upstream');
        return refuse(deps, runId, 'prompts/get', subject, 'upstream_error', 'The prompt could not be read.');
      }
      await markSourceRead(deps, ctx, subject, deps.policy().upstreams[split.upstream]?.sources, {
        items: answer.messages.length,
        texts: [
          ...(answer.description ? [answer.description] : []),
          ...answer.messages.flatMap(({ content }) =>
            content.type === 'text'
              ? [content.text]
              : content.type === 'resource'
                ? textsOfContents(content.resource)
                : content.type === 'resource_link'
                  ? [content.description ?? '']
                  : [],
          ),
        ],
      });
      const inspector = new Inspector(MAX_ANSWER_BYTES, deps.scrubberFor(ctx.run.profile).text);
      const out: GetPromptResult = {
        messages: answer.messages.map((message, i) => ({
          role: message.role,
          content: inspector.block(message.content, `messages[${i}]`),
        })),
      };
      if (answer.description !== undefined)
        out.description = inspector.text(answer.description, 'description');
      if (answer._meta) {
        const meta = inspector.data({ _meta: answer._meta }, 'result') as Pick<GetPromptResult, '_meta'>;
        if (meta._meta && Object.keys(meta._meta).length > 0) out._meta = meta._meta;
      }
      // A prompt's own text is inspected (and taints on findings); an embedded resource is foreign data.
      const embedsData = answer.messages.some((m) => m.content.type === 'resource');
      return deliver(deps, ctx, 'prompts/get', subject, inspector, out, {
        taints: embedsData,
        data: { prompt: exposed, upstream: split.upstream, arguments: args, messages: out.messages.length },
      });
    }),
  );
}

function argumentProblem(prompt: Prompt, args: Record<string, string>): string | undefined {
  const declared = new Map((prompt.arguments ?? []).map((a) => [a.name, a]));
  for (const [name, value] of Object.entries(args)) {
    if (!declared.has(name)) return `The prompt takes no argument "${name.slice(0, 64)}".`;
    if (typeof value !== 'string' || value.length > MAX_PROMPT_ARGUMENT)
      return `Argument "${name}" must be a string of at most ${MAX_PROMPT_ARGUMENT} characters.`;
  }
  for (const arg of declared.values())
    if (arg.required && !Object.hasOwn(args, arg.name)) return `Argument "${arg.name}" is required.`;
  return undefined;
}

async function listAll(client: Client, signal: AbortSignal): Promise<Prompt[]> {
  const prompts: Prompt[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await client.listPrompts(cursor ? { cursor } : {}, { signal });
    prompts.push(...result.prompts);
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return prompts;
}

function splitName(exposed: string): { upstream: string; prompt: string } | undefined {
  const at = exposed.indexOf('__');
  if (at <= 0) return undefined;
  return { upstream: exposed.slice(0, at), prompt: exposed.slice(at + 2) };
}

function byUpstream(names: readonly string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const name of names) {
    const split = splitName(name);
    if (!split) continue;
    const set = out.get(split.upstream) ?? new Set<string>();
    set.add(split.prompt);
    out.set(split.upstream, set);
  }
  return out;
}
