/**
 * The second ClientHello of a TLS 1.3 handshake. A server that wants another key share answers the
 * first hello with a HelloRetryRequest, and the client sends a whole new ClientHello, SNI included;
 * a server reading that one (OpenSSL takes the SNI of the hello it is handling) serves the name it
 * names. A raw tunnel handed over after the first hello let a client name the allowed host
 * first and another tenant second. So before a TLS tunnel is handed to the relay, node reads the
 * server's first handshake message; when it is a HelloRetryRequest it passes it on and checks the
 * client's second hello as it checked the first. Everything read is passed on before the relay
 * takes the sockets.
 */
import type { Socket } from 'node:net';
import { sniRefusal } from './egress-first-bytes.js';
import {
  changeCipherSpecLength,
  classifyFirstBytes,
  classifyServerHello,
  MAX_CLIENT_HELLO,
} from './tls-sni.js';

/** What the client may send before the server's first message (0-RTT data is at most a few KiB). */
const HOLD_LIMIT = 1024 * 1024;

/** `pass`: hand the tunnel over; `gone`: a side closed first; else why it is refused. */
export type RetryVerdict =
  | { kind: 'pass' }
  | { kind: 'gone' }
  | { kind: 'refuse'; reason: string; sni?: string };

/**
 * Waits for the server's first message, then for the client's second hello if one is due. The
 * client is read meanwhile (what it sends is held, then sent on), so its going away is seen.
 */
export async function checkHelloRetry(
  client: Socket,
  upstream: Socket,
  expected: string,
  timeoutMs: number,
): Promise<RetryVerdict> {
  const held = collect(client, (data) => data.length > HOLD_LIMIT);
  const answer = collect(
    upstream,
    (data) => classifyServerHello(data) !== 'incomplete' || data.length > MAX_CLIENT_HELLO,
  );
  await Promise.race([answer.settled, held.settled]);
  const early = held.stop();
  const reply = answer.stop();
  if (reply.data.length > 0) client.write(reply.data);
  if (early.whole) return { kind: 'refuse', reason: 'over 1 MiB sent before the TLS server answered' };
  if (!reply.whole || held.ended()) return { kind: 'gone' };
  if (classifyServerHello(reply.data) !== 'retry') {
    if (early.data.length > 0) upstream.write(early.data);
    return { kind: 'pass' };
  }
  const hello = (data: Buffer) => data.subarray(changeCipherSpecLength(data));
  const whole = (data: Buffer) =>
    classifyFirstBytes(hello(data)).kind !== 'incomplete' || data.length > MAX_CLIENT_HELLO;
  const second = collect(client, whole, early.data, timeoutMs);
  await second.settled;
  const again = second.stop();
  if (!again.whole)
    return again.data.length > 0
      ? { kind: 'refuse', reason: 'a second TLS ClientHello not finished in time' }
      : { kind: 'gone' };
  const seen = classifyFirstBytes(hello(again.data));
  if (seen.kind === 'unreadable') return { kind: 'refuse', reason: `second ClientHello: ${seen.reason}` };
  if (seen.kind !== 'client-hello')
    return { kind: 'refuse', reason: 'a HelloRetryRequest answered by no valid ClientHello' };
  const checked = sniRefusal(seen.sni, expected);
  if (checked.refusal !== undefined)
    return {
      kind: 'refuse',
      reason: `second ClientHello: ${checked.refusal}`,
      ...(checked.sni ? { sni: checked.sni } : {}),
    };
  upstream.write(again.data);
  return { kind: 'pass' };
}

interface Collecting {
  /** Settles once `enough`, at the socket's end or close, or at the timeout. */
  settled: Promise<void>;
  /** Whether the socket ended or closed. */
  ended(): boolean;
  /** Stops reading (pauses the socket) and gives what came; `whole` when `enough` said so. */
  stop(): { data: Buffer; whole: boolean };
}

/** Reads `socket` into a buffer, from `data`, until `enough`, its end or close, or the timeout. */
function collect(
  socket: Socket,
  enough: (data: Buffer) => boolean,
  data: Buffer = Buffer.alloc(0),
  timeoutMs?: number,
): Collecting {
  let whole = enough(data);
  let ended = false;
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const onData = (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
    if (enough(data)) {
      whole = true;
      settle();
    }
  };
  const onEnd = () => {
    ended = true;
    settle();
  };
  const timer = timeoutMs === undefined ? undefined : setTimeout(settle, timeoutMs);
  if (whole) settle();
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  socket.resume();
  return {
    settled,
    ended: () => ended,
    stop: () => {
      if (timer) clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      return { data, whole };
    },
  };
}
