/**
 * A server span around each LLM proxy request, with the run id when the run
 * token is valid (one extra lookup, only while tracing is on). The path is
 * reported only when it is one the proxy serves, so nothing an agent typed
 * into a URL ends up in a trace.
 */
import type { MiddlewareHandler } from 'hono';
import type { RunService } from '../runs/service.js';
import type { Tracing } from './tracing.js';

const KNOWN_PATHS = new Set([
  '/v1/messages',
  '/v1/messages/count_tokens',
  '/v1/chat/completions',
  '/v1/models',
]);

export function llmTracing(tracing: Tracing, runs: Pick<RunService, 'authenticate'>): MiddlewareHandler {
  return async (c, next) => {
    const token =
      c.req.header('x-api-key') ?? /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const run = token ? await runs.authenticate(token).catch(() => undefined) : undefined;
    const path = KNOWN_PATHS.has(c.req.path) ? c.req.path : '/v1/other';
    await tracing.llmRequest(
      { method: c.req.method, path, ...(run ? { runId: run.id } : {}) },
      async (span) => {
        await next();
        span.setAttribute('http.response.status_code', c.res.status);
      },
    );
  };
}
