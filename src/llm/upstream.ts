/**
 * The one HTTP call to the real Messages API. It uses node:http(s) with
 * keep-alive agents of its own rather than fetch: on loopback that is about
 * 0.4 ms less per request (bench/LLM.md), most of what the proxy adds to the
 * first byte. The agents keep connections open (one is reused per request
 * rather than one opened) and send each write at once (`noDelay`: no Nagle
 * wait for the body after the headers); where a request goes is worked out
 * once per API path (`upstreamTarget`), not parsed from a URL per request.
 * The answer comes back as a web ReadableStream that yields each
 * chunk as it arrives, with backpressure and without buffering.
 *
 * An abort (kill, expiry, client gone) destroys the connection, so the API
 * stops generating and the stream ends with an error the caller can charge.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { MAX_PLAIN_ANSWER, UnreadableAnswer, unreadableBytes } from './answer-body.js';
import type { OutgoingJson } from './outgoing-json.js';
import type { Cancel } from './signals.js';

/**
 * The agents' settings, those of Node's own global agents (keep-alive, the most recently used
 * connection first, idle connections closed after 5 s) with Nagle's algorithm off said outright.
 */
const AGENT_OPTIONS = { keepAlive: true, scheduling: 'lifo', timeout: 5_000, noDelay: true } as const;
const httpAgent = new HttpAgent(AGENT_OPTIONS);
const httpsAgent = new HttpsAgent(AGENT_OPTIONS);

/** Where an upstream request goes: a URL taken apart once, with the agent that keeps its connections. */
export interface UpstreamTarget {
  readonly https: boolean;
  readonly options: Readonly<{
    protocol: string;
    hostname: string;
    port: number | string | undefined;
    path: string;
    auth?: string;
    agent: HttpAgent;
  }>;
  /** The `Host` header node would send for `options`. */
  readonly host: string;
  /** The `Authorization` header node would send for credentials in the URL, if any. */
  readonly basic: string | undefined;
}

export function upstreamTarget(url: URL): UpstreamTarget {
  const https = url.protocol === 'https:';
  const { protocol, hostname, port, path, auth } = urlToHttpOptions(url);
  const name = hostname ?? url.hostname;
  const agent = https ? httpsAgent : httpAgent;
  return {
    https,
    options: {
      protocol: protocol ?? url.protocol,
      hostname: name,
      port: port ?? undefined,
      path: path ?? '/',
      ...(auth ? { auth } : {}),
      agent,
    },
    host: hostHeader(name, port ?? undefined, https ? 443 : 80),
    basic: auth ? `Basic ${Buffer.from(auth).toString('base64')}` : undefined,
  };
}

/** As node's `ClientRequest` writes it: an IPv6 address in brackets, a port other than the default. */
function hostHeader(hostname: string, port: number | string | undefined, defaultPort: number): string {
  const colon = hostname.indexOf(':');
  const ipv6 = colon !== -1 && hostname.includes(':', colon + 1) && !hostname.startsWith('[');
  const host = ipv6 ? `[${hostname}]` : hostname;
  return port && Number(port) !== defaultPort ? `${host}:${port}` : host;
}

/**
 * The request's header lines as node would write them from `headers` (a later name that differs
 * only in case replaces an earlier one, in its place), then `content-length`, `Host` and the
 * URL's credentials unless given. Handed to node as a list, node still validates every name and
 * value (`_storeHeader`) but skips keeping them in its map one `setHeader` at a time (12.6 vs 9.1
 * µs a request in a loop of its own; header handling was most of `ClientRequest` in the profile).
 */
export function headerLines(
  target: UpstreamTarget,
  headers: Readonly<Record<string, string>>,
  contentLength: number,
): string[] {
  const byName = new Map<string, [string, string]>();
  // node's setHeader: the entry keeps its place, takes the latest spelling and value.
  const set = (name: string, value: string) => {
    const entry = byName.get(name.toLowerCase());
    if (entry) {
      entry[0] = name;
      entry[1] = value;
    } else byName.set(name.toLowerCase(), [name, value]);
  };
  for (const name of Object.keys(headers)) set(name, headers[name] as string);
  set('content-length', String(contentLength));
  // As node: set when missing or empty.
  if (!byName.get('host')?.[1]) set('Host', target.host);
  if (target.basic && !byName.get('authorization')?.[1]) set('Authorization', target.basic);
  const lines: string[] = [];
  for (const [name, value] of byName.values()) lines.push(name, value);
  return lines;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /**
   * The whole answer (plain JSON); rejects when the answer is cut, and with an UnreadableAnswer
   * when it holds a NUL byte or runs past MAX_PLAIN_ANSWER characters.
   */
  text(): Promise<string>;
  /** The answer is not read: its connection is dropped. */
  discard(): void;
  /**
   * The answer as a web stream that forwards each chunk as it arrives, as
   * `tap` rewrites it, with `tap` told of how the answer ended. One stream
   * layer, not two: the tap rewrites in place instead of re-piping.
   */
  stream(tap: Tap): ReadableStream<Uint8Array>;
  /**
   * The answer written straight to the agent's node response, as `tap` rewrites it: no web
   * stream between the two sockets. Backpressure pauses the upstream; the agent leaving is
   * `tap.cancelled`.
   */
  pipe(out: ServerResponse, status: number, headers: OutgoingHttpHeaders, tap: Tap): void;
}

export interface Tap {
  /** What to send on for an upstream chunk (the scrubbed events it completed); throwing cuts the answer. */
  chunk(chunk: Uint8Array): Uint8Array;
  /** The answer is complete; may return a last chunk to send. Awaited before the stream closes. */
  end(): Promise<Uint8Array | undefined>;
  /** The answer was cut (abort, lost connection); may return a last chunk to send. Awaited. */
  cut(reason: Error): Promise<Uint8Array | undefined>;
  /** The reader went away. */
  cancelled(): Promise<void>;
}

/**
 * `body`: a string, or bytes in pooled memory (outgoing-json.ts), given back once node has
 * written them or the request ended without.
 */
export function postUpstream(
  to: UpstreamTarget | URL,
  headers: Record<string, string>,
  body: string | OutgoingJson,
  cancel: Cancel,
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    if (cancel.reason) {
      if (typeof body !== 'string') body.release();
      reject(cancel.reason);
      return;
    }
    const target = to instanceof URL ? upstreamTarget(to) : to;
    const send = target.https ? httpsRequest : httpRequest;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.bytes.byteLength;
    const req = send({
      ...target.options,
      method: 'POST',
      headers: headerLines(target, headers, length),
    });
    if (typeof body !== 'string') {
      // 'finish': every byte handed to the socket; 'close': the request ended, written or not.
      req.once('finish', body.release);
      req.once('close', body.release);
    }
    const reason = () => cancel.reason ?? new Error('aborted');
    let onAbort = (): void => {
      req.destroy(reason());
    };
    cancel.onAbort(() => onAbort());
    req.once('error', reject);
    req.once('response', (res) => {
      req.off('error', reject);
      // Errors after the answer began belong to the answer, not to the request.
      req.on('error', () => undefined);
      const answer = new Answer(res);
      onAbort = () => {
        answer.fail(reason());
        req.destroy();
      };
      resolve({
        status: res.statusCode ?? 502,
        headers: res.headers,
        text: () => answer.text(),
        discard: () => res.destroy(),
        stream: (tap) => answer.stream(tap),
        pipe: (out, status, headers, tap) => answer.pipe(out, status, headers, tap),
      });
    });
    req.end(typeof body === 'string' ? body : body.bytes);
  });
}

/** One upstream answer, read once, either whole or as a stream. */
class Answer {
  private onFail: ((reason: Error) => void) | undefined;
  private failed: Error | undefined;

  constructor(private readonly res: IncomingMessage) {
    res.once('error', (error) => this.fail(error));
    // A connection that closes before the body completed is a cut, not an end.
    res.once('close', () => {
      if (!res.complete) this.fail(new Error('upstream connection closed mid-answer'));
    });
  }

  fail(reason: Error): void {
    if (this.failed) return;
    this.failed = reason;
    this.onFail?.(reason);
  }

  text(): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      const decoder = new TextDecoder();
      let text = '';
      this.onFail = reject;
      this.res.on('data', (chunk: Buffer) => {
        const unreadable = unreadableBytes(chunk);
        if (!unreadable && text.length <= MAX_PLAIN_ANSWER) {
          text += decoder.decode(chunk, { stream: true });
          return;
        }
        this.res.destroy();
        this.fail(unreadable ?? new UnreadableAnswer(`longer than ${MAX_PLAIN_ANSWER} characters`));
      });
      this.res.once('end', () => resolve(text + decoder.decode()));
    });
  }

  pipe(out: ServerResponse, status: number, headers: OutgoingHttpHeaders, tap: Tap): void {
    const res = this.res;
    let finished = false;
    const finish = async (how: 'end' | Error) => {
      if (finished) return;
      finished = true;
      try {
        const last = how === 'end' ? await tap.end() : await tap.cut(how);
        if (last?.byteLength && !out.destroyed) out.write(last);
        out.end();
      } catch {
        // Nothing sound is left to send: the agent sees a cut, never a clean end.
        out.destroy();
      }
    };
    // Sent with the first chunk (one write, one packet), or on their own if that is not
    // already in hand by the end of this turn of the event loop.
    out.writeHead(status, headers);
    setImmediate(() => {
      if (!out.headersSent && !out.destroyed) out.flushHeaders();
    });
    out.once('close', () => {
      if (finished) return;
      finished = true;
      res.destroy();
      void tap.cancelled();
    });
    this.pump(
      tap,
      finish,
      () => finished,
      (bytes) => {
        if (bytes.byteLength && !out.write(bytes)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
      },
    );
  }

  /**
   * Feeds each chunk of the answer through `tap` to `deliver`, then calls `finish` once: at the
   * end, on a failure of the connection, or when the tap refuses a chunk (the connection is then
   * dropped). `isFinished`: the receiving side already settled, chunks are dropped.
   */
  private pump(
    tap: Tap,
    finish: (how: 'end' | Error) => Promise<void>,
    isFinished: () => boolean,
    deliver: (bytes: Uint8Array) => void,
  ): void {
    const res = this.res;
    if (this.failed) {
      void finish(this.failed);
      return;
    }
    this.onFail = (reason) => void finish(reason);
    const onData = (chunk: Buffer) => {
      if (isFinished()) return;
      let bytes: Uint8Array;
      try {
        bytes = tap.chunk(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (error) {
        res.destroy();
        void finish(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      deliver(bytes);
    };
    // What came in the packets of the answer's head (the first event, usually) is already
    // buffered: taken now, not a turn of the event loop later, when the stream would start to
    // flow (about 40 µs of the first byte in situ). Later chunks come as events, in order.
    if (res.readableLength > 0 && res.readableEncoding === null) {
      const early = res.read() as Buffer | null;
      if (early) onData(early);
    }
    res.on('data', onData);
    res.once('end', () => void finish('end'));
  }

  stream(tap: Tap): ReadableStream<Uint8Array> {
    const res = this.res;
    let finished = false;
    let control: ReadableStreamDefaultController<Uint8Array> | undefined;
    const finish = async (how: 'end' | Error) => {
      if (finished) return;
      finished = true;
      try {
        const last = how === 'end' ? await tap.end() : await tap.cut(how);
        if (last?.byteLength) control?.enqueue(last);
        control?.close();
      } catch {
        // The reader left while the tap was settling: nothing is left to close.
      }
    };
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          control = controller;
          this.pump(
            tap,
            finish,
            () => finished,
            (bytes) => {
              if (bytes.byteLength) controller.enqueue(bytes);
              if ((controller.desiredSize ?? 0) <= 0) res.pause();
            },
          );
        },
        pull() {
          res.resume();
        },
        async cancel() {
          finished = true;
          res.destroy();
          await tap.cancelled();
        },
      },
      { highWaterMark: 16 },
    );
  }
}
