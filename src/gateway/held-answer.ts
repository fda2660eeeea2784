/**
 * One HTTP request on `/mcp`, as the pipeline sees it: whether the caller is
 * still there, and a way to turn the plain-JSON answer into an SSE stream the
 * moment a call is held for approval.
 *
 * Plain JSON is the fast default, but a held call may wait minutes for a
 * human, and real clients give up first: Claude Code aborts a POST whose
 * answer has not started within 60 s, the MCP SDK client times a request
 * out after 60 s unless progress resets it, and undici drops a body silent
 * for 300 s. So when the gate holds a call, the answer becomes a stream at
 * once: its headers go out (the client's fetch resolves), progress
 * notifications reach a client that asked for them, and a comment line every
 * 15 s keeps the connection alive; the JSON-RPC result follows as the
 * stream's last event. Calls that are not held keep the plain-JSON answer
 * and pay only for this object.
 *
 * `gone` is the HTTP request's own signal (the server aborts it when the
 * connection closes before the answer is complete), so a caller leaving is
 * seen in every answer mode, not only when the client sends a cancel.
 */
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { longAnswerAsBytes } from './answer-bytes.js';
import { heldEventId } from './held-resume.js';
import { StringsAside } from './strings-aside.js';

const KEEPALIVE_MS = 15_000;
/** Shared: an encoder holds no state, and most answers never stream (one per call was made before). */
const encoder = new TextEncoder();

export class HeldAnswer {
  private streamed:
    | { controller: ReadableStreamDefaultController<Uint8Array>; keepalive: NodeJS.Timeout }
    | undefined;
  private upgrade: ((response: Response) => void) | undefined;
  /** Calls of this request still without an answer, for `interrupt`. */
  private readonly open = new Set<RequestId>();

  /** Long strings of this request's answers kept out of the SDK's serialising (strings-aside.ts). */
  private readonly aside: StringsAside | undefined;

  /**
   * `outgoing`: node's response when node serves the endpoint (a long answer's bytes are pooled).
   * `answers`: the SDK's answer leaves through `answer` (plain JSON): only then are long strings
   * put aside, since only its ways out put them back.
   */
  constructor(
    private readonly request: Request,
    private readonly sessionId: () => string | undefined,
    private readonly outgoing?: ServerResponse,
    answers = false,
  ) {
    this.aside = answers ? new StringsAside() : undefined;
  }

  /**
   * A call's result as handed to the SDK: its long strings put aside when this answer can put
   * them back, else the result itself.
   */
  putAside<T>(result: T): T {
    return this.aside ? this.aside.put(result) : result;
  }

  /**
   * Aborts when the caller's connection closes before its answer is complete. Read only when a
   * call is held: the server makes the signal (an AbortController) on first read, and one that
   * closed earlier is already aborted then, so calls that are never held do not pay for one.
   */
  get gone(): AbortSignal {
    return this.request.signal;
  }

  /** Whether the answer is (now) a stream. */
  get streaming(): boolean {
    return this.streamed !== undefined;
  }

  /** The answer to send: the SDK's plain JSON, or a stream if a call was held before it was ready. */
  answer(sdk: Promise<Response>): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      this.upgrade = resolve;
      sdk.then(
        (response) => {
          this.upgrade = undefined;
          // A long answer goes out as bytes, encoded once (answer-bytes.ts).
          if (!this.streamed) return resolve(longAnswerAsBytes(response, this.outgoing, this.aside));
          void this.finish(response);
        },
        (error: unknown) => {
          this.upgrade = undefined;
          if (!this.streamed) return reject(error);
          this.close();
        },
      );
    });
  }

  /** The gate holds a call: start the stream now (once), before any client timeout runs out. */
  hold(): void {
    const upgrade = this.upgrade;
    if (this.streamed || !upgrade || this.gone.aborted) return;
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => this.close(),
    });
    const keepalive = setInterval(() => this.write(': waiting for approval\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    this.streamed = { controller: controller as ReadableStreamDefaultController<Uint8Array>, keepalive };
    const id = this.sessionId();
    // A priming event naming the held calls: a client whose stream is cut reconnects with it,
    // and a gateway that no longer holds them answers them (held-resume.ts).
    if (this.open.size > 0) this.write(`id: ${heldEventId([...this.open])}\ndata: \n\n`);
    upgrade(
      new Response(body, {
        status: 200,
        headers: {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache, no-transform',
          'x-accel-buffering': 'no',
          ...(id ? { 'mcp-session-id': id } : {}),
        },
      }),
    );
  }

  /** A call of this request started; its id is what `interrupt` answers. */
  track(id: RequestId): void {
    this.open.add(id);
  }

  /**
   * The session closes (gateway shutdown) while a streamed call waits: the SDK can no longer
   * answer it, and a client whose stream just ends would wait out its own timeout. Each open call
   * gets `answer(id)` as its last event instead.
   */
  interrupt(answer: (id: RequestId) => JSONRPCMessage): void {
    if (!this.streamed) return;
    for (const id of this.open) this.notify(answer(id));
    this.open.clear();
    this.close();
  }

  /** Sends a notification on the stream; false when the answer is not a stream (yet). */
  notify(message: JSONRPCMessage): boolean {
    if (!this.streamed) return false;
    this.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    return true;
  }

  private async finish(response: Response): Promise<void> {
    try {
      const text = this.aside ? this.aside.text(await response.text()) : await response.text();
      const parsed = text ? (JSON.parse(text) as JSONRPCMessage | JSONRPCMessage[]) : [];
      this.open.clear();
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) this.notify(message);
    } catch {
      // An unreadable SDK answer: ending the stream lets the client fail instead of hanging.
    }
    this.close();
  }

  private write(text: string): void {
    try {
      this.streamed?.controller.enqueue(encoder.encode(text));
    } catch {
      this.close();
    }
  }

  private close(): void {
    if (!this.streamed) return;
    clearInterval(this.streamed.keepalive);
    try {
      this.streamed.controller.close();
    } catch {
      // Already closed or cancelled by the client.
    }
  }
}
