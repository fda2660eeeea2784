/**
 * A lean `fetch` for the SDK's Streamable HTTP client transport, over
 * `node:http` with keep-alive sockets.
 *
 * Why not the global fetch: profiled behind the gateway, undici's fetch was
 * the largest single cost of a call (about a third of the gateway's CPU), and
 * the SDK passes one long-lived AbortSignal to every request, on which
 * undici's listeners pile up (MaxListenersExceededWarning under load). Here a
 * signal gets exactly one listener however many requests share it, and a
 * request leaves nothing behind when it ends (abort-watch.ts).
 *
 * Reading is bounded: an answer larger than `maxBodyBytes` fails that request
 * (`ResponseTooLargeError`) and its socket is dropped, instead of buffering
 * whatever an upstream sends (http-response.ts reads the answer). Redirects
 * are never followed (the SDK handles them as responses).
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
import { type ClientRequest, Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { abortError, abortWatcher } from './abort-watch.js';
import { toResponse } from './http-response.js';
import { jsonRpcField } from './jsonrpc-text.js';
import type { LargeMessages } from './large-messages.js';

export { ResponseTooLargeError } from './http-response.js';

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface KeepAliveFetch {
  fetch: typeof fetch;
  close(): void;
}

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
  /** One abort listener per signal, however many requests it covers (abort-watch.ts). */
  const watch = abortWatcher();

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

  /** The last URL parsed, by its text: every request of a transport goes to the same one. */
  let last: { href: string; url: URL } | undefined;
  const parsed = (input: string | URL): URL => {
    const href = typeof input === 'string' ? input : input.href;
    if (last?.href !== href) last = { href, url: new URL(href) };
    return last.url;
  };

  const leanFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = parsed(input instanceof Request ? input.url : input);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortError(signal.reason));
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = {};
    // The SDK passes a Headers: read as it is, not copied into another first.
    (init.headers instanceof Headers ? init.headers : new Headers(init.headers)).forEach((value, key) => {
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
