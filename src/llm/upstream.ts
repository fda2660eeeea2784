/**
 * The one HTTP call to the real Messages API. It uses node:http(s) with the
 * default keep-alive agents rather than fetch: on loopback that is about
 * 0.4 ms less per request (bench/LLM.md), most of what the proxy adds to the
 * first byte. The answer comes back as a web ReadableStream that yields each
 * chunk as it arrives, with backpressure and without buffering.
 *
 * An abort (kill, expiry, client gone) destroys the connection, so the API
 * stops generating and the stream ends with an error the caller can charge.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: ReadableStream<Uint8Array>;
}

export function postUpstream(
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    let onAbort = () => {
      req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal.addEventListener('abort', () => onAbort(), { once: true });
    req.once('error', reject);
    req.once('response', (res) => {
      req.off('error', reject);
      // Errors after the answer began belong to the body stream, not to the request.
      req.on('error', () => undefined);
      const stream = webStream(res);
      onAbort = () => {
        stream.abort(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        req.destroy();
      };
      resolve({ status: res.statusCode ?? 502, headers: res.headers, body: stream.body });
    });
    req.end(body);
  });
}

/** A web stream over a Node response, pulling only as fast as the reader reads. */
function webStream(res: IncomingMessage): {
  body: ReadableStream<Uint8Array>;
  abort(reason: Error): void;
} {
  let control: ReadableStreamDefaultController<Uint8Array> | undefined;
  let ended = false;
  const fail = (reason: Error) => {
    if (ended) return;
    ended = true;
    control?.error(reason);
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        control = controller;
        res.on('data', (chunk: Buffer) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) res.pause();
        });
        res.once('end', () => {
          if (ended) return;
          ended = true;
          controller.close();
        });
        res.once('error', fail);
        // A connection that closes before the body completed is a cut, not an end.
        res.once('close', () => {
          if (!res.complete) fail(new Error('upstream connection closed mid-answer'));
        });
      },
      pull() {
        res.resume();
      },
      cancel() {
        ended = true;
        res.destroy();
      },
    },
    { highWaterMark: 16 },
  );
  return { body, abort: fail };
}

/** Reads a whole (small, plain JSON) answer. */
export async function readText(body: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}
