/**
 * Which headers cross the proxy. Upstream: only the few the API reads, and
 * the real key set last, so whatever credential the agent sent never reaches
 * the API. Back to the agent: only what the SDKs read to decide on retries and
 * to report request ids.
 */
import type { UpstreamResponse } from './upstream.js';
import type { WireFormat } from './wire-format.js';

const FORWARDED = ['anthropic-version', 'anthropic-beta', 'accept'];
const RETURNED = ['content-type', 'request-id', 'retry-after', 'x-should-retry'];

export function forwardHeaders(req: Request, apiKey: string, format: WireFormat): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED) {
    const value = req.headers.get(name);
    if (value) headers[name] = value;
  }
  // The body sent is always bulkhead's own UTF-8 JSON: the agent's content type (a charset such
  // as utf-7, another media type) could make the API read other fields than were checked.
  headers['content-type'] = 'application/json';
  // Set last: whatever key the agent sent is never what reaches the API.
  headers['x-api-key'] = apiKey;
  if (format.bearer) headers.authorization = `Bearer ${apiKey}`;
  return headers;
}

/** A plain record (lower-case names): what both a web Response and node's writeHead take. */
export function returnedHeaders(upstream: UpstreamResponse): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of RETURNED) {
    const value = upstream.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  headers['content-type'] ??= 'application/json';
  return headers;
}
