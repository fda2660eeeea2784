/**
 * A lean `fetch` for the SDK's Streamable HTTP client transport, over
 * `node:http` with keep-alive sockets.
 *
 * Why not the global fetch: profiled behind the gateway, undici's fetch was
 * the largest single cost of a call (about a third of the gateway's CPU), and
 * the SDK passes one long-lived AbortSignal to every request, on which
 * undici's listeners pile up (MaxListenersExceededWarning under load). Here a
 * signal gets exactly one listener however many requests share it, and a
 * request leaves nothing behind when it ends.
 *
 * Reading is bounded: an answer larger than `maxBodyBytes` fails that request
 * (`ResponseTooLargeError`) and its socket is dropped, instead of buffering
 * whatever an upstream sends. Redirects are never followed (the SDK handles
 * them as responses).
 *
 * A cancelled request's answer is closed: when the client sends
 * `notifications/cancelled` for a request whose answer stream is still open,
 * that request's socket is dropped. The server sends no answer to a cancelled
 * request (as the spec asks), so its SSE stream would otherwise stay open on
 * both sides for good: a socket and its buffers per killed or timed-out call.
 *
 * Nothing twice: a request is sent again only when a kept-alive socket the
 * server had closed while idle failed it, never a request this side dropped
 * (a cancelled call), and never a `tools/call`: a reset after the server read
 * it cannot be told from one before, and a tool call sent twice may act
 * twice. Stale sockets are made rare instead: an idle socket is closed after
 * `idleMs`, sooner when the server announces a shorter keep-alive (node takes
 * `Keep-Alive: timeout=N` less a second).
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LargeMessages } from './large-messages.js';
import { SseEvents } from './sse-events.js';
import { MESSAGE_TOO_LARGE } from './stdio-reader.js';

export class ResponseTooLargeError extends Error {
  readonly code = 'response_too_large';
  constructor(readonly limit: number) {
    super(`the upstream's answer exceeded ${limit} bytes`);
  }
}

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface KeepAliveFetch {
  fetch: typeof fetch;
  close(): void;
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * The platform's Response, taken when this module loads: the agent-facing server (@hono/node-server)
 * later replaces the global with a lightweight class that, for a streamed body, builds a platform
 * Response anyway the moment `body` is read (the SDK always reads it), so every upstream answer was
 * constructed twice.
 */
const PlatformResponse: typeof Response = globalThis.Response;

export function keepAliveFetch(options: {
  maxBodyBytes: number;
  maxSockets?: number;
  /** Large answers to tool calls are parsed and cut in a worker (large-messages.ts). */
  large?: LargeMessages;
  /** An idle kept-alive socket is closed after this long (default 4 s, under node servers' 5 s). */
  idleMs?: number;
}): KeepAliveFetch {
  const maxSockets = options.maxSockets ?? 64;
  const agentOptions = {
    keepAlive: true,
    maxSockets,
    scheduling: 'lifo' as const,
    // Applies to idle sockets only (the agent destroys a free socket that times out; one in use
    // just emits 'timeout', which nothing here acts on), and lets node honour a server's hint.
    timeout: options.idleMs ?? 4_000,
  };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  /** One abort listener per signal, however many requests it covers. */
  const watched = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>();

  const watch = (signal: AbortSignal, onAbort: (reason: unknown) => void): (() => void) => {
    let set = watched.get(signal);
    if (!set) {
      const listeners = new Set<(reason: unknown) => void>();
      set = listeners;
      watched.set(signal, listeners);
      signal.addEventListener(
        'abort',
        () => {
          for (const listener of [...listeners]) listener(signal.reason);
          listeners.clear();
        },
        { once: true },
      );
    }
    set.add(onAbort);
    const active = set;
    return () => active.delete(onAbort);
  };

  /** Requests whose answer is still open, with the body they sent. */
  const open = new Map<ClientRequest, string>();
  /** Requests this side dropped: their failure is never a reason to send them again. */
  const dropped = new WeakSet<ClientRequest>();
  const closeCancelled = (notification: string) => {
    const cancelled = jsonRpcField(notification, (m) => (m.params as { requestId?: unknown })?.requestId);
    if (cancelled === undefined) return;
    for (const [req, sent] of open) {
      if (jsonRpcField(sent, (m) => m.id) !== cancelled) continue;
      open.delete(req);
      dropped.add(req);
      req.destroy();
    }
  };

  const leanFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortError(signal.reason));
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const body = typeof init.body === 'string' ? init.body : init.body == null ? undefined : null;
    if (body === null) return Promise.reject(new TypeError('keepAliveFetch sends string bodies only'));
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    if (body?.includes('notifications/cancelled')) closeCancelled(body);
    const resendable = !body?.includes('"tools/call"');

    // Each failed attempt on a kept-alive socket destroys that socket, so retrying walks through
    // the stale ones to a fresh connection; bounded by the pool's size.
    const attempt = (retriesLeft: number): Promise<Response> =>
      new Promise<Response>((resolve, reject) => {
        let settled = false;
        let unwatch: () => void = () => undefined;
        const req = (secure ? httpsRequest : httpRequest)(url, {
          method: init.method ?? 'GET',
          headers,
          agent: secure ? httpsAgent : httpAgent,
        });
        const ended = () => {
          unwatch();
          open.delete(req);
        };
        if (body !== undefined) open.set(req, body);
        const fail = (error: unknown) => {
          ended();
          if (!settled) {
            settled = true;
            // A kept-alive socket the server closed while idle: the request never reached it, send it
            // again. Several sockets can go stale together (an upstream's idle timeout after a quiet
            // spell): each is tried and dropped, then a new connection is made.
            const code = (error as { code?: unknown }).code;
            if (
              resendable &&
              retriesLeft > 0 &&
              req.reusedSocket &&
              !dropped.has(req) &&
              (code === 'ECONNRESET' || code === 'EPIPE')
            )
              resolve(attempt(retriesLeft - 1));
            else reject(error);
          }
        };
        if (signal) {
          unwatch = watch(signal, (reason) => {
            req.destroy(abortError(reason));
          });
        }
        req.on('error', fail);
        req.on('response', (res) => {
          settled = true;
          resolve(toResponse(res, options.maxBodyBytes, ended, body, options.large));
        });
        req.end(body);
      });
    return attempt(maxSockets);
  };

  return {
    fetch: leanFetch as typeof fetch,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * Streams the body through a web ReadableStream, counting bytes against the
 * limit: per event for an SSE stream (a long-lived stream may carry any number
 * of events), in all otherwise. An SSE answer that overflows ends with a
 * JSON-RPC error for the request it answered, so that call fails at once
 * instead of waiting out its timeout.
 *
 * With `large`, the answer to a `tools/call` is passed on in whole events (a
 * JSON body whole), and one over the threshold is parsed and cut to the tool's
 * budget in a worker first (large-messages.ts); what follows it waits, so
 * order is kept. A worker that fails turns the answer into an error for that
 * request. While the upstream's place with the workers is taken, an answer
 * bound for them stops reading its socket (large-gate.ts).
 */
function toResponse(
  res: IncomingMessage,
  limit: number,
  done: () => void,
  sent: string | undefined,
  large: LargeMessages | undefined,
): Response {
  const status = res.statusCode ?? 502;
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    headers.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
  }
  const init = { status, statusText: res.statusMessage ?? '', headers };
  if (NULL_BODY_STATUS.has(status)) {
    res.resume();
    res.once('close', done);
    return new PlatformResponse(null, init);
  }
  const type = (res.headers['content-type'] ?? '').toLowerCase();
  const sse = type.startsWith('text/event-stream');
  const declared = Number(res.headers['content-length']);
  // Only answers to a tool call are cut; its budget is looked up when an answer is large.
  const tool = large && sent?.includes('tools/call') ? toolCalled(sent) : undefined;
  const divert = tool !== undefined && (sse || type.startsWith('application/json')) ? large : undefined;
  const events = sse && divert ? new SseEvents() : undefined;
  const body: Buffer[] | undefined = !sse && divert ? [] : undefined;
  let bodySize = 0;
  let counted = 0;
  let lastByte = 0;
  let finished = false;
  // The socket is read unless the reader is behind (`behind`), this upstream's large answers are
  // all with the workers while this one is under way (`gated`, large-gate.ts), or this answer is
  // past its budget and read at a bounded pace while others wait (`paced`, oversize-pacer.ts).
  let behind = false;
  let gated = false;
  let paced = false;
  const flow = () => {
    if (behind || gated || paced) res.pause();
    else res.resume();
  };
  const maxBytes = divert && tool !== undefined ? divert.limitFor(tool) : undefined;
  /** A message bound for a worker is under way and the upstream's place there is taken: wait. */
  const waitForGate = () => {
    if (gated || !divert || maxBytes === undefined || !divert.gate.full()) return;
    const underWay = events ? events.pending : bodySize;
    if (!divert.worthCutting(underWay, maxBytes)) return;
    gated = true;
    flow();
    divert.gate.whenFree(() => {
      gated = false;
      if (!finished) flow();
    });
  };
  /** The bytes of a chunk just read, once the answer under way is past its budget: pause if ahead of the pace. */
  const pace = (bytes: number) => {
    if (!divert?.pacer || maxBytes === undefined) return;
    const underWay = events ? events.pending : bodySize;
    if (!divert.worthCutting(underWay, maxBytes)) return;
    const waitMs = divert.pacer.charge(bytes);
    if (waitMs <= 0 || paced) return;
    paced = true;
    flow();
    setTimeout(() => {
      paced = false;
      if (!finished) flow();
    }, waitMs);
  };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      /** Answers still with a worker: what comes after them waits its turn. */
      let queue: Promise<void> | undefined;
      const emit = (pieces: readonly Uint8Array[] | Promise<readonly Uint8Array[]>) => {
        if (!queue && !(pieces instanceof Promise)) {
          for (const piece of pieces) controller.enqueue(piece);
          return;
        }
        const previous = queue ?? Promise.resolve();
        const mine = previous.then(async () => {
          const ready = await pieces;
          if (!finished) for (const piece of ready) controller.enqueue(piece);
          if (queue === mine) queue = undefined;
        });
        queue = mine;
      };
      // An event or body comes as the pieces it arrived in (sse-events.ts): never joined here; a worker
      // gets a copy (worker/slabs.ts), and the pieces pass on as they are when nothing was cut.
      const cut = (
        parts: readonly Buffer[],
        size: number,
        framing: 'sse' | 'json',
      ): readonly Uint8Array[] | Promise<readonly Uint8Array[]> => {
        const whole = parts.map(toBytes);
        if (!divert || maxBytes === undefined || !divert.worthCutting(size, maxBytes)) return whole;
        return divert.gate
          .run(() => divert.cut(whole, size, framing, maxBytes))
          .then(
            (answer) => ('text' in answer ? [new TextEncoder().encode(answer.text)] : whole),
            () => [
              errorAnswer(sent, -32_603, 'the answer could not be read', framing === 'sse') ??
                new Uint8Array(),
            ],
          );
      };
      const close = (error?: unknown) => {
        if (finished) return;
        finished = true;
        done();
        try {
          if (error === undefined) controller.close();
          else controller.error(error);
        } catch {
          // Already cancelled by the reader.
        }
      };
      // A normal end waits for answers still with a worker; an error ends at once.
      const finish = (error?: unknown) => {
        if (error !== undefined || !queue) return close(error);
        queue.then(
          () => close(),
          (e: unknown) => close(e),
        );
      };
      const overflow = () => {
        res.destroy();
        const answer = sse
          ? errorAnswer(sent, MESSAGE_TOO_LARGE, `answer exceeds the ${limit}-byte limit`, true)
          : undefined;
        if (answer) {
          for (const held of events?.flush() ?? []) emit(held.parts.map(toBytes));
          emit([answer]);
          finish();
        } else finish(new ResponseTooLargeError(limit));
      };
      if (!sse && Number.isFinite(declared) && declared > limit) return overflow();
      res.on('data', (chunk: Buffer) => {
        if (finished) return;
        if (sse) {
          // Bytes since the last blank line (the end of an event), across chunk boundaries.
          const boundary = chunk.lastIndexOf('\n\n');
          if (boundary >= 0) counted = chunk.length - boundary - 2;
          else if (lastByte === 0x0a && chunk[0] === 0x0a) counted = chunk.length - 1;
          else counted += chunk.length;
          lastByte = chunk[chunk.length - 1] ?? 0;
        } else counted += chunk.length;
        if (counted > limit) return overflow();
        if (events) for (const event of events.push(chunk)) emit(cut(event.parts, event.size, 'sse'));
        else if (body) {
          body.push(chunk);
          bodySize += chunk.length;
        } else controller.enqueue(toBytes(chunk));
        // Backpressure: stop reading the socket until the reader catches up.
        if ((controller.desiredSize ?? 1) <= 0) {
          behind = true;
          flow();
        }
        waitForGate();
        pace(chunk.length);
      });
      res.once('end', () => {
        for (const held of events?.flush() ?? []) emit(held.parts.map(toBytes));
        if (body?.length) emit(cut(body, bodySize, 'json'));
        finish();
      });
      res.once('error', (error) => finish(error));
      res.once('close', () => {
        if (!res.complete) finish(new Error('the upstream closed the connection mid-answer'));
      });
    },
    pull() {
      behind = false;
      flow();
    },
    cancel() {
      finished = true;
      done();
      res.destroy();
    },
  });
  return new PlatformResponse(stream, init);
}

function toBytes(chunk: Buffer): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
}

/** The tool a `tools/call` request sent as text calls. */
function toolCalled(sent: string): string | undefined {
  const name = jsonRpcField(sent, (m) =>
    m.method === 'tools/call' ? (m.params as { name?: unknown })?.name : undefined,
  );
  return typeof name === 'string' ? name : undefined;
}

/** A JSON-RPC error for the request in `sent` (an SSE event, or a JSON body), if it was one. */
function errorAnswer(
  sent: string | undefined,
  code: number,
  message: string,
  sse: boolean,
): Uint8Array | undefined {
  if (!sent) return undefined;
  const id = jsonRpcField(sent, (m) => m.id);
  if (typeof id !== 'string' && typeof id !== 'number') return undefined;
  const error = JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
  // The blank line first ends whatever partial event was already passed on.
  return new TextEncoder().encode(sse ? `\n\nevent: message\ndata: ${error}\n\n` : error);
}

/** A field of a single JSON-RPC message sent as text (undefined for a batch or bad JSON). */
function jsonRpcField(text: string, pick: (message: Record<string, unknown>) => unknown): unknown {
  try {
    const message = JSON.parse(text) as unknown;
    return message && typeof message === 'object' && !Array.isArray(message)
      ? pick(message as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function abortError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  const error = new Error('This operation was aborted');
  error.name = 'AbortError';
  return error;
}
