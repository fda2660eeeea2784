/**
 * What an inspection worker does with a large upstream message before the
 * main thread sees it: parses it and cuts a tool result to its tool's budget
 * (precut.ts), so the main thread parses a message the size of the budget
 * instead of the megabytes the upstream sent. `format` is how it was framed:
 * one SSE event (`sse`, its fields kept), a JSON body (`json`) or a stdio line
 * (`line`). Answers the new text, or undefined when nothing was cut (the main
 * thread then reads the original bytes).
 */
import { precutResult } from '../precut.js';
import { cutLongStrings } from './long-strings.js';

export type Framing = 'sse' | 'json' | 'line';

export function cutLargeMessage(bytes: Uint8Array, framing: Framing, maxBytes: number): string | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Most large answers are one long text: cut without decoding it all (long-strings.ts).
  const fast = cutWithoutParsing(buffer, framing, maxBytes);
  if (fast !== undefined) return fast ?? undefined;
  const text = buffer.toString('utf8');
  if (framing !== 'sse') {
    const cut = cutMessage(text, maxBytes);
    return cut === undefined ? undefined : framing === 'line' ? `${cut}\n` : cut;
  }
  // One event: its `data:` lines joined by newlines, every other field kept as it was.
  const fields: string[] = [];
  const data: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    else fields.push(line);
  }
  if (data.length === 0) return undefined;
  const cut = cutMessage(data.join('\n'), maxBytes);
  if (cut === undefined) return undefined;
  return `${fields.map((f) => `${f}\n`).join('')}data: ${cut}\n\n`;
}

/**
 * long-strings.ts on the message in `buffer`, framed as it was: the cut message, null when nothing
 * was cut, undefined when it declines (then the full parse runs). An SSE event qualifies with one
 * `data:` line; its other fields are kept as the full parse keeps them.
 */
function cutWithoutParsing(buffer: Buffer, framing: Framing, maxBytes: number): string | null | undefined {
  if (framing === 'json') return cutLongStrings(buffer, 0, buffer.length, maxBytes);
  if (framing === 'line') {
    const cut = cutLongStrings(buffer, 0, buffer.length, maxBytes);
    return typeof cut === 'string' ? `${cut}\n` : cut;
  }
  const fields: string[] = [];
  let data: { from: number; to: number } | undefined;
  for (let at = 0; at < buffer.length; ) {
    const newline = buffer.indexOf(0x0a, at);
    const to = newline < 0 ? buffer.length : newline;
    if (to > at) {
      if (buffer.subarray(at, at + 5).toString('latin1') === 'data:') {
        if (data) return undefined;
        data = { from: at + (buffer[at + 5] === 0x20 ? 6 : 5), to };
      } else fields.push(buffer.toString('utf8', at, to));
    }
    at = to + 1;
  }
  if (!data) return undefined;
  const cut = cutLongStrings(buffer, data.from, data.to, maxBytes);
  return typeof cut === 'string' ? `${fields.map((f) => `${f}\n`).join('')}data: ${cut}\n\n` : cut;
}

/** A JSON-RPC answer whose tool result had text cut, serialised; undefined if it is anything else. */
function cutMessage(text: string, maxBytes: number): string | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const result = (message as { result?: unknown }).result;
  if (result === undefined) return undefined;
  const cut = precutResult(result, maxBytes);
  return cut === result ? undefined : JSON.stringify({ ...message, result: cut });
}
