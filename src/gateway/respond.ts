/**
 * The one way the HTTP API answers: JSON passed through the scrubber, with a
 * stable error shape `{ error: code, message }`. Handlers never build
 * responses by hand, so no API response can skip scrubbing.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type BulkheadError, type ErrorCode, isBulkheadError } from '../errors.js';
import type { Scrubber } from '../scrub/index.js';

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  policy_invalid: 400,
  policy_unreadable: 400,
  secret_missing: 500,
  upstream_schema_widened: 500,
  upstream_start_failed: 502,
  store_failed: 500,
  store_unavailable: 503,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  unauthorized: 401,
  bad_request: 400,
  sandbox_unavailable: 500,
  workdir_refused: 400,
  gateway_unreachable: 502,
  restart_required: 409,
  inspection_failed: 500,
};

export interface Responder {
  json(c: Context, body: unknown, status?: ContentfulStatusCode): Response;
  error(c: Context, error: BulkheadError | { code: ErrorCode; message: string }): Response;
  fail(c: Context, error: unknown): Response;
  /**
   * `fail` in the shape of the door the request came in by: a JSON-RPC error at `/mcp` (an MCP
   * client parses nothing else), the Messages API's error shape at `/v1/*`, ours elsewhere.
   */
  failAt(c: Context, error: unknown): Response;
}

export function responder(scrubber: Scrubber, onUnexpected: (error: unknown) => void): Responder {
  const json = (c: Context, body: unknown, status: ContentfulStatusCode = 200) =>
    c.json(scrubber.value(body) as object, status);
  const error: Responder['error'] = (c, e) => json(c, { error: e.code, message: e.message }, STATUS[e.code]);
  const fail: Responder['fail'] = (c, e) => {
    if (isBulkheadError(e)) return error(c, e);
    onUnexpected(e);
    return json(c, { error: 'internal_error', message: 'The request could not be processed.' }, 500);
  };
  return {
    json,
    error,
    fail,
    failAt(c, e) {
      const path = c.req.path;
      const mcp = path === '/mcp' || path.startsWith('/mcp/');
      if (!mcp && !path.startsWith('/v1/')) return fail(c, e);
      const known = isBulkheadError(e);
      if (!known) onUnexpected(e);
      const status = known ? STATUS[e.code] : 500;
      const code = known ? e.code : 'internal_error';
      const message = scrubber.text(known ? e.message : 'The request could not be processed.');
      return mcp
        ? c.json({ jsonrpc: '2.0', error: { code: -32000, message, data: { code } }, id: null }, status)
        : c.json({ type: 'error', error: { type: 'api_error', message } }, status);
    },
  };
}
