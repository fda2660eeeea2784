/**
 * The body of an HTTP upstream's answer (http-response.ts) as the few parts of a web
 * ReadableStream its readers use: one reader that reads chunks (lean-sse.ts reads every SSE
 * answer so), `cancel()` (the SDK's client on a 202), and a real ReadableStream made from it
 * when a body is read whole (`text()`, `json()`). On Node 20 every ReadableStream pays
 * `makeTransferable` when made, and its reads go through the streams' promise machinery: about
 * 1.5% of the gateway's CPU per call, for a stream with one chunk in it.
 *
 * It keeps a ReadableStream's rules for what it is used for: chunks in order; the queue is over
 * its high-water mark (one chunk, as a default stream's) when a chunk waits unread, and `pull` is
 * called when a read takes the queue back under it; `close()` lets queued chunks be read first,
 * `error()` drops them and fails reads; `cancel()` drops them, ends reads as done and calls the
 * source's `cancel` once. A second reader while one holds it is refused.
 */

interface Source {
  /** Called when a read took the queue under its high-water mark: the reader wants more. */
  pull(): void;
  /** Called once when the reader cancels (not after a close or an error). */
  cancel(reason: unknown): void;
}

type Read = ReadableStreamReadResult<Uint8Array>;

export class AnswerBody {
  private readonly chunks: Uint8Array[] = [];
  private state: 'open' | 'closed' | 'errored' = 'open';
  private failure: unknown;
  private waiting: { resolve: (read: Read) => void; reject: (error: unknown) => void } | undefined;
  private locked_ = false;
  private stream: ReadableStream<Uint8Array> | undefined;

  constructor(private readonly source: Source) {}

  // The producer's side (a ReadableStream's controller).

  /** As a controller's: 1 less the chunks waiting, 0 once closed, null once errored. */
  get desiredSize(): number | null {
    if (this.state === 'errored') return null;
    return this.state === 'closed' ? 0 : 1 - this.chunks.length;
  }

  enqueue(chunk: Uint8Array): void {
    if (this.state !== 'open') throw new TypeError('the answer body is closed');
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting.resolve({ done: false, value: chunk });
      return;
    }
    this.chunks.push(chunk);
  }

  close(): void {
    if (this.state !== 'open') throw new TypeError('the answer body is closed');
    this.state = 'closed';
    if (this.chunks.length === 0) this.settle();
  }

  error(error: unknown): void {
    if (this.state !== 'open') throw new TypeError('the answer body is closed');
    this.state = 'errored';
    this.failure = error;
    this.chunks.length = 0;
    this.settle();
  }

  // The reader's side.

  get locked(): boolean {
    return this.locked_;
  }

  getReader(): {
    read(): Promise<Read>;
    cancel(reason?: unknown): Promise<void>;
    releaseLock(): void;
  } {
    if (this.locked_) throw new TypeError('the answer body is locked to a reader');
    this.locked_ = true;
    return {
      read: () => this.read(),
      cancel: (reason?: unknown) => this.cancel(reason),
      releaseLock: () => {
        this.locked_ = false;
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting?.reject(new TypeError('the reader was released'));
      },
    };
  }

  cancel(reason?: unknown): Promise<void> {
    if (this.state === 'errored') return Promise.reject(this.failure);
    if (this.state === 'closed' && this.chunks.length === 0) return Promise.resolve();
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.chunks.length = 0;
    this.settle();
    if (wasOpen) this.source.cancel(reason);
    return Promise.resolve();
  }

  /** A web ReadableStream of the same chunks (made once), for readers that need one. */
  toStream(): ReadableStream<Uint8Array> {
    if (this.stream) return this.stream;
    const reader = this.getReader();
    this.stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return this.stream;
  }

  private read(): Promise<Read> {
    const chunk = this.chunks.shift();
    if (chunk) {
      if (this.state === 'open' && this.chunks.length === 0) this.source.pull();
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.state === 'closed') return Promise.resolve({ done: true, value: undefined });
    if (this.state === 'errored') return Promise.reject(this.failure);
    if (this.waiting) return Promise.reject(new TypeError('a read is already under way'));
    return new Promise<Read>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** Ends a waiting read: done when closed, failed when errored. */
  private settle(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    this.waiting = undefined;
    if (this.state === 'errored') waiting.reject(this.failure);
    else waiting.resolve({ done: true, value: undefined });
  }
}
