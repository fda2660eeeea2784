/**
 * Decisions and kills pushed between replicas with PostgreSQL LISTEN/NOTIFY.
 * One dedicated connection listens; if it drops, it reconnects with backoff,
 * and `live()` is false meanwhile so waiters fall back to polling the store
 * at their short interval. A notification says "look again", and for an
 * approval the state its decider wrote (`approval:<id>:approved`), so the
 * waiter on another replica claims at once instead of reading first. The
 * claim is the store's conditional write, so a forged or lost NOTIFY can delay,
 * never decide (anyone who may connect to the database can NOTIFY).
 *
 * Notifications go out on the listening connection while it is up, not on the
 * shared pool: a decision's signal never queues behind the pool's other work.
 * A listening connection that stops answering (a silent network failure) must
 * not swallow them: one not sent within `SEND_WITHIN_MS` also goes through the
 * pool (a duplicate is harmless: a second "look again").
 *
 * A replica ignores the notifications its own connections sent: it delivered
 * them here already, before or instead of the round trip through the server.
 * Hearing its own vote's NOTIFY would wake its waiter twice, and could start
 * the approved call before the voter's own code had seen the vote committed.
 */
import pg from 'pg';
import { APPROVAL_STATES, type ApprovalState } from '../../approvals/approval.js';
import { LocalSignals } from '../signals.js';
import type { Signal } from '../store.js';

export const CHANNEL = 'bulkhead_signals';
/** How long a notification may take on the listening connection before the pool sends it too. */
export const SEND_WITHIN_MS = 500;

export class PgSignals extends LocalSignals {
  private client: pg.Client | null = null;
  private connected = false;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly connectionString: string,
    /** The server process ids of this replica's pool connections (`ownBackends`). */
    private readonly own: ReadonlySet<number> = new Set(),
  ) {
    super();
  }

  async start(): Promise<void> {
    await this.connect().catch(() => this.retry());
  }

  override async publish(signal: Signal): Promise<void> {
    // Delivered here at once; other replicas hear it through the server (this one ignores its own).
    this.deliver(signal);
    const values = [CHANNEL, payload(signal)];
    const client = this.connected ? this.client : null;
    if (client && (await within(client.query('SELECT pg_notify($1, $2)', values), SEND_WITHIN_MS))) return;
    // The listener is down (or just dropped): the pool still reaches replicas that hear.
    await this.pool.query('SELECT pg_notify($1, $2)', values);
  }

  override live(): boolean {
    return this.connected;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    this.connected = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    // Keepalive: a peer gone silently is found (and the connection replaced) instead of trusted forever.
    const client = new pg.Client({
      connectionString: this.connectionString,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (this.own.has(message.processId) || message.processId === backendOf(client)) return;
      const signal = parse(message.payload);
      if (signal) this.deliver(signal);
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.connected = true;
    this.attempt = 0;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.connected = false;
    void client.end().catch(() => undefined);
    this.retry();
  }

  private retry(): void {
    if (this.closed || this.timer) return;
    const delay = Math.min(10_000, 100 * 2 ** this.attempt++);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect().catch(() => this.retry());
    }, delay);
    this.timer.unref();
  }
}

/**
 * The server process ids of `pool`'s open connections, kept current as it connects and drops
 * them. Call before the pool's first query. (PostgreSQL reuses a pid only after its backend
 * exits, and a dropped connection leaves the set when the pool removes it.)
 */
export function ownBackends(pool: pg.Pool): ReadonlySet<number> {
  const pids = new Set<number>();
  const byClient = new WeakMap<pg.PoolClient, number>();
  pool.on('connect', (client) => {
    const pid = backendOf(client);
    if (pid === undefined) return;
    pids.add(pid);
    byClient.set(client, pid);
  });
  pool.on('remove', (client) => {
    const pid = byClient.get(client);
    if (pid !== undefined) pids.delete(pid);
  });
  return pids;
}

/** A connected client's server process id (pg keeps it, its types do not declare it). */
function backendOf(client: pg.ClientBase): number | undefined {
  const pid = (client as unknown as { processID?: unknown }).processID;
  return typeof pid === 'number' ? pid : undefined;
}

/** Whether `work` succeeded within `ms` (false if it failed or is still going). */
function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    work.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

export function payload(signal: Signal): string {
  const state = signal.topic === 'approval' && signal.state ? `:${signal.state}` : '';
  return `${signal.topic}:${signal.id}${state}`;
}

/** A notification's payload as a signal; anything else on the channel is ignored. */
export function parse(text: string | undefined): Signal | undefined {
  const match = /^(approval|run):([A-Za-z0-9_-]{1,100})(?::([a-z_]{1,20}))?$/.exec(text ?? '');
  if (!match) return undefined;
  const [, topic, id, state] = match as unknown as [string, Signal['topic'], string, string | undefined];
  if (state === undefined) return { topic, id };
  if (topic !== 'approval' || !isApprovalState(state)) return undefined;
  return { topic, id, state };
}

function isApprovalState(state: string): state is ApprovalState {
  return (APPROVAL_STATES as readonly string[]).includes(state);
}
