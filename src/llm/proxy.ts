/**
 * The LLM API proxy (`/v1/messages`, `/v1/chat/completions`, `/v1/responses`,
 * `/v1/messages/count_tokens`, `/v1/models`), compatible with the Anthropic
 * Messages API, OpenAI Chat Completions and the OpenAI Responses API. The agent authenticates with its
 * run token (as x-api-key or a bearer); the real key is injected here, so the
 * agent never holds it and the run token never reaches the upstream.
 *
 * Budget: each request reserves its input estimate (`estimateInputTokens`:
 * one token per 3 characters, images at their ceiling) plus a max_tokens
 * clamped to what is left, atomically, before it is sent; a request whose
 * input alone would overrun is refused unsent. It settles to the real usage
 * afterwards (cache tokens weighted by the profile), and the settlement that
 * crosses an alert threshold reports it, once. The parts:
 *   exchange.ts     one request, end to end
 *   wire-format.ts  what differs between the three APIs (openai.ts, responses*.ts)
 *   spend.ts        the reservation; settlement.ts its settling
 *   count-tokens.ts count_tokens, for the agent and for the reservation
 *   refusals.ts, headers.ts, budget-alerts.ts, context.ts
 */
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { type LlmProxyDeps, proxyContext } from './context.js';
import { countTokensRoute } from './count-tokens.js';
import { apiError } from './errors.js';
import { exchange } from './exchange.js';
import { ended } from './refusals.js';
import { ANTHROPIC, OPENAI, RESPONSES } from './wire-format.js';

export type { LlmProxyDeps } from './context.js';

export function createLlmProxy(deps: LlmProxyDeps): Hono<{ Bindings: Partial<HttpBindings> }> {
  // Served by node, the bindings hold the agent's node response (streams are written to it).
  const app = new Hono<{ Bindings: Partial<HttpBindings> }>();
  const ctx = proxyContext(deps);

  app.post('/messages/count_tokens', countTokensRoute(ctx));
  app.post('/messages', (c) => exchange(ctx, c.req.raw, ANTHROPIC, c.env?.outgoing));
  app.post('/chat/completions', (c) => exchange(ctx, c.req.raw, OPENAI, c.env?.outgoing));
  app.post('/responses', (c) => exchange(ctx, c.req.raw, RESPONSES, c.env?.outgoing));
  app.get('/models', async (c) => {
    const run = await ctx.authenticate(c.req.raw);
    if (!run) return apiError(401, 'authentication_error', 'A valid run token is required.');
    if (run.state !== 'active') return ended(run);
    const allowed = deps.policy.profiles[run.profile]?.llm.models ?? Object.keys(ctx.llm?.prices ?? {});
    // One list both SDKs read: OpenAI's (object, owned_by) and Anthropic's (type, display_name).
    const data = allowed.map((id) => ({
      id,
      object: 'model',
      type: 'model',
      display_name: id,
      created: 0,
      created_at: '1970-01-01T00:00:00Z',
      owned_by: 'bulkhead',
    }));
    return Response.json({
      object: 'list',
      data,
      has_more: false,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
    });
  });

  return app;
}
