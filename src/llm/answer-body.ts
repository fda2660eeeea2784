/**
 * Whether an upstream answer can be scrubbed as it came. The scrubber reads UTF-8 text; an answer
 * compressed (the proxy never asks for compression, but a misbehaving upstream or a middlebox may
 * send it anyway), labelled with another charset, or in UTF-16 or UTF-32 without a label (its
 * ASCII a NUL apart: `s\0k\0-\0…`, which no rule matches and any agent reads back) would carry a
 * secret past it — a reflecting upstream's copy of the injected key among them. Such an answer is
 * refused whole (`upstream_unreadable`), never passed on garbled: the agent gets a 502 and the
 * run is charged what was reserved, as for any answer the API billed but bulkhead could not read.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** A plain (non-streamed) answer longer than this (in characters) is not read: about 32 MB. */
export const MAX_PLAIN_ANSWER = 16 * 1024 * 1024;

/** An answer bulkhead cannot scrub as it came; `reason` is safe to log (no content). */
export class UnreadableAnswer extends Error {
  readonly code = 'upstream_unreadable';
  constructor(readonly reason: string) {
    super(`the LLM API answer could not be read: ${reason}`);
  }
}

/** Why the answer with these headers cannot be read as UTF-8 text, or undefined when it can. */
export function unreadableHeaders(headers: IncomingHttpHeaders): UnreadableAnswer | undefined {
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && !/^\s*(identity)?\s*$/i.test(String(encoding)))
    return new UnreadableAnswer(`content-encoding ${JSON.stringify(String(encoding).slice(0, 40))}`);
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(String(headers['content-type'] ?? ''))?.[1];
  if (charset !== undefined && !/^(utf-?8|us-ascii)$/i.test(charset))
    return new UnreadableAnswer(`charset ${JSON.stringify(charset.slice(0, 40))}`);
  return undefined;
}

/** Why these bytes of an answer cannot be read as text (a NUL: UTF-16, UTF-32, binary), or undefined. */
export function unreadableBytes(bytes: Uint8Array): UnreadableAnswer | undefined {
  return bytes.includes(0) ? new UnreadableAnswer('a NUL byte (UTF-16, UTF-32 or binary)') : undefined;
}
