/**
 * An HTTP upstream's answer as a web Response, read with a bound: the answer
 * half of the keep-alive fetch (http-fetch.ts), which sends the request and
 * hands the node `IncomingMessage` here.
 *
 * Why apart: the request side is about sockets, retries and cancellation; this
 * side is about reading: counting bytes against `maxBodyBytes` (an answer
 * larger fails its request with `ResponseTooLargeError` and its socket is
 * dropped, instead of buffering whatever an upstream sends), backpressure, and
 * the large answers to tool calls that are cut in a worker (large-messages.ts,
 * large-gate.ts, oversize-pacer.ts). It is on every HTTP call's path: one
 * closure set per answer, none per chunk.
 */
import type { IncomingMessage } from 'node:http';
import { AnswerBody } from './answer-body.js';
import { errorAnswer, toolCalled } from './jsonrpc-text.js';
import type { LargeMessages } from './large-messages.js';
import { SseEvents } from './sse-events.js';
import { MESSAGE_TOO_LARGE } from './stdio-reader.js';

export class ResponseTooLargeError extends Error {
  readonly code = 'response_too_large';
  constructor(readonly limit: number) {
    super(`the upstream's answer exceeded ${limit} bytes`);
  }
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * The platform's Response, taken when this module loads: the agent-facing server (@hono/node-server)
 * later replaces the global with a lightweight class that, for a streamed body, builds a platform
 * Response anyway the moment `body` is read (the SDK always reads it), so every upstream answer was
 * constructed twice.
 */
const PlatformResponse: typeof Response = globalThis.Response;

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
export function toResponse(
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
  const stream = new AnswerBody({
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
  // What a ReadableStream's `start` did, at once as it did.
  ((controller: AnswerBody) => {
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
            errorAnswer(sent, -32_603, 'the answer could not be read', framing === 'sse') ?? new Uint8Array(),
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
  })(stream);
  // Outside 200-599 the platform's constructor throws: it still does, here, as before.
  if (status < 200 || status > 599) return new PlatformResponse(null, init);
  return new UpstreamResponse(stream, init) as unknown as Response;
}

/**
 * What the SDK's client transport reads of an answer: status, headers and the body stream (an SSE
 * answer's stream goes to lean-sse.ts whole). Building the platform Response for every answer cost
 * about 1.5% of the gateway's CPU per call; it is built here only when its body is read whole
 * (`text()`, `json()`: a JSON answer, an error's text), from the same stream.
 */
class UpstreamResponse {
  readonly type = 'default';
  readonly url = '';
  readonly redirected = false;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  private platform: Response | undefined;

  constructor(
    readonly body: AnswerBody,
    init: { status: number; statusText: string; headers: Headers },
  ) {
    this.status = init.status;
    this.statusText = init.statusText;
    this.headers = init.headers;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  get bodyUsed(): boolean {
    return this.body.locked || (this.platform?.bodyUsed ?? false);
  }

  private whole(): Response {
    this.platform ??= new PlatformResponse(this.body.toStream(), {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    return this.platform;
  }

  text(): Promise<string> {
    return this.whole().text();
  }

  json(): Promise<unknown> {
    return this.whole().json();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.whole().arrayBuffer();
  }

  blob(): Promise<Blob> {
    return this.whole().blob();
  }

  formData(): Promise<FormData> {
    return this.whole().formData();
  }

  clone(): Response {
    return this.whole().clone();
  }
}

function toBytes(chunk: Buffer): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
}
