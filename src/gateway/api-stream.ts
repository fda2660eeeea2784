/**
 * `GET /api/stream`: the audit log, live, as server-sent events, for the
 * dashboard and anyone else holding an operator credential.
 *
 * Each event is sent as `event: audit`, `id: <event id>`, its data the event
 * as the API returns it (scrubbed once by the writer and again here, like
 * every API response). A reconnecting client sends `Last-Event-ID` and gets
 * what it missed from the store before anything new, so a dropped connection
 * loses nothing. `?run=ID` narrows the stream to one run.
 *
 * A slow client cannot make the gateway buffer without bound: past `maxQueue`
 * pending events its stream is closed and it resumes from the store. Streams
 * end after `maxLifetimeMs` and whenever a heartbeat finds the credential no
 * longer valid (a dashboard session that expired or signed out), so a stream
 * never outlives the right to read it by more than one heartbeat.
 */
import { Hono } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { BulkheadError } from '../errors.js';
import type { AuditEvent } from '../events/event.js';
import type { EventWriter } from '../events/writer.js';
import type { EventStore } from '../store/store.js';
import { can, type Operator } from './operators.js';

export interface StreamDeps {
  events: EventWriter;
  store: EventStore;
  scrub: <T>(value: T) => T;
  /** Re-checked on every heartbeat: is the credential of this request still good? */
  stillAuthorized: (request: Request) => boolean;
  heartbeatMs?: number;
  maxLifetimeMs?: number;
  maxQueue?: number;
  /** Missed events replayed at most; a client further behind is told to reload. */
  maxReplay?: number;
}

type Env = { Variables: { operator: Operator } };

export function createStream(deps: StreamDeps): Hono<Env> {
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const maxLifetimeMs = deps.maxLifetimeMs ?? 10 * 60_000;
  const maxQueue = deps.maxQueue ?? 2_000;
  const maxReplay = deps.maxReplay ?? 5_000;
  const app = new Hono<Env>();

  app.get('/', (c) => {
    if (!can(c.get('operator'), 'view')) throw new BulkheadError('forbidden', 'This operator may not view.');
    const runId = c.req.query('run') || undefined;
    const resumeFrom = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? Number.NaN);
    const request = c.req.raw;
    c.header('cache-control', 'no-store');
    // Proxies such as nginx would otherwise hold events back to fill a buffer.
    c.header('x-accel-buffering', 'no');

    return streamSSE(c, async (stream) => {
      const queue: AuditEvent[] = [];
      let wake: (() => void) | undefined;
      let overflow = false;
      const notify = () => {
        wake?.();
        wake = undefined;
      };
      const unsubscribe = deps.events.subscribe((event) => {
        if (runId && event.runId !== runId) return;
        if (queue.length >= maxQueue) overflow = true;
        else queue.push(event);
        notify();
      });
      let closed = false;
      stream.onAbort(() => {
        closed = true;
        notify();
      });
      const heartbeat = setInterval(notify, heartbeatMs);
      const lifetime = setTimeout(() => {
        closed = true;
        notify();
      }, maxLifetimeMs);

      try {
        await stream.writeSSE({
          event: 'hello',
          data: JSON.stringify({ heartbeat_ms: heartbeatMs }),
          retry: 2000,
        });
        let lastSent = Number.isSafeInteger(resumeFrom) && resumeFrom >= 0 ? resumeFrom : undefined;
        if (lastSent !== undefined) {
          const replayed = await replay(deps.store, lastSent, runId, maxReplay, (e) => send(stream, e, deps));
          if (replayed === 'too_far') {
            await stream.writeSSE({ event: 'reset', data: '{}' });
            return;
          }
          lastSent = replayed ?? lastSent;
        }
        let lastBeat = Date.now();
        while (!closed && !stream.aborted) {
          if (overflow) return;
          const batch = queue.splice(0, queue.length);
          for (const event of batch) {
            // Subscribed before the replay, so an event can arrive twice: the id decides.
            if (lastSent !== undefined && event.id <= lastSent) continue;
            await send(stream, event, deps);
            lastSent = event.id;
          }
          if (Date.now() - lastBeat >= heartbeatMs * 0.9) {
            if (!deps.stillAuthorized(request)) {
              await stream.writeSSE({ event: 'signed-out', data: '{}' });
              return;
            }
            await stream.write(': heartbeat\n\n');
            lastBeat = Date.now();
          }
          if (queue.length === 0 && !closed) await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        unsubscribe();
        clearInterval(heartbeat);
        clearTimeout(lifetime);
      }
    });
  });

  return app;
}

function send(stream: SSEStreamingApi, event: AuditEvent, deps: StreamDeps): Promise<void> {
  return stream.writeSSE({ event: 'audit', id: String(event.id), data: JSON.stringify(deps.scrub(event)) });
}

async function replay(
  store: EventStore,
  afterId: number,
  runId: string | undefined,
  max: number,
  each: (event: AuditEvent) => Promise<void>,
): Promise<number | 'too_far' | undefined> {
  const missed = await store.count({ afterId, ...(runId ? { runId } : {}) });
  if (missed > max) return 'too_far';
  let last: number | undefined;
  let cursor = afterId;
  for (;;) {
    const page = await store.list({ afterId: cursor, limit: 1000, ...(runId ? { runId } : {}) });
    for (const event of page) {
      await each(event);
      last = event.id;
    }
    const tail = page.at(-1);
    if (page.length < 1000 || !tail) return last;
    cursor = tail.id;
  }
}
