/**
 * Which headers cross the proxy. Upstream: only the few the API reads, and
 * the real key set last, so whatever credential the agent sent never reaches
 * the API. Back to the agent: only what the SDKs read to decide on retries and
 * to report request ids.
 */
import type { Scrubber } from '../scrub/index.js';
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

/**
 * The form each returned header must have to be passed on (the SDKs read nothing else of them).
 * A reflecting upstream can put anything in a header, the injected key included.
 */
const RETURNED_FORM: Readonly<Record<string, RegExp>> = {
  'request-id': /^[A-Za-z0-9_-]{1,128}$/,
  'retry-after': /^(?:\d{1,6}|[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)$/,
  'x-should-retry': /^(?:true|false)$/,
};
/** A media type without its parameters (`application/json; charset=utf-8` → `application/json`). */
const MEDIA_TYPE =
  /^\s*([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63})\s*(?:;|$)/;

/**
 * Media types passed on as bulkhead's own words, unscrubbed: the two the APIs answer with, which
 * the proxy writes itself anyway (the default below; an SSE answer is framed anew). Whatever an
 * upstream could put in them is which of the two it is. Scrubbing them cost about 13 µs of every
 * request's first byte; any other media type is scrubbed as before.
 */
const OWN_MEDIA_TYPES: ReadonlySet<string> = new Set(['text/event-stream', 'application/json']);

/**
 * A plain record (lower-case names): what both a web Response and node's writeHead take. Each
 * header is passed on only in its form (RETURNED_FORM), the content type reduced to its media
 * type, and only if the scrubber leaves it as it is (OWN_MEDIA_TYPES aside): a request id can be
 * a key's length.
 */
export function returnedHeaders(upstream: UpstreamResponse, scrubber: Scrubber): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of RETURNED) {
    const value = upstream.headers[name];
    if (typeof value !== 'string') continue;
    const kept = name === 'content-type' ? MEDIA_TYPE.exec(value)?.[1]?.toLowerCase() : value;
    const form = RETURNED_FORM[name];
    if (kept === undefined || (form && !form.test(kept))) continue;
    const own = name === 'content-type' && OWN_MEDIA_TYPES.has(kept);
    if (own || scrubber.text(kept) === kept) headers[name] = kept;
  }
  headers['content-type'] ??= 'application/json';
  return headers;
}
