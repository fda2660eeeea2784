/**
 * Decisions and kills pushed between replicas with PostgreSQL LISTEN/NOTIFY.
 * One dedicated connection listens; if it drops, it reconnects with backoff,
 * and `live()` is false meanwhile so waiters fall back to polling the store
 * at their short interval. A notification only says "look again": receivers
 * re-read the store, so a forged or lost NOTIFY can delay, never decide.
 */
import pg from 'pg';
import { LocalSignals } from '../signals.js';
import type { Signal } from '../store.js';

export const CHANNEL = 'bulkhead_signals';

export class PgSignals extends LocalSignals {
  private client: pg.Client | null = null;
  private connected = false;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly connectionString: string,
  ) {
    super();
  }

  async start(): Promise<void> {
    await this.connect().catch(() => this.retry());
  }

  override async publish(signal: Signal): Promise<void> {
    // Delivered here at once; other replicas hear it through the server (this one too, ignored twice).
    this.deliver(signal);
    await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, `${signal.topic}:${signal.id}`]);
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
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
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

function parse(payload: string | undefined): Signal | undefined {
  const match = /^(approval|run):([A-Za-z0-9_-]{1,100})$/.exec(payload ?? '');
  if (!match) return undefined;
  return { topic: match[1] as Signal['topic'], id: match[2] as string };
}
