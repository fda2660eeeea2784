/**
 * Pings the pool's idle upstreams, so health says `down` when one is: an HTTP one that is
 * unreachable (or forgot our session: healed), a stdio one whose process lives but answers
 * nothing (an error answer, from a server without ping, is an answer; the hung process is
 * replaced). A stdio server busy with a call is not pinged: it reads its stdin in order.
 */
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConnection } from './upstream-client.js';
import { sessionLost } from './upstream-failures.js';
import type { Slot } from './upstream-slot.js';

export interface PingerDeps {
  slots(): Iterable<Slot>;
  stopped(): boolean;
  lost(slot: Slot, error: unknown): void;
  heal(slot: Slot, stale: UpstreamConnection): Promise<boolean>;
}

export class IdlePinger {
  private timer: NodeJS.Timeout | null = null;
  private pinging = false;

  constructor(private readonly deps: PingerDeps) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.round(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Every idle upstream at once; a round still running skips the next tick. */
  private async round(): Promise<void> {
    if (this.pinging) return;
    this.pinging = true;
    try {
      await Promise.all([...this.deps.slots()].map((slot) => this.ping(slot)));
    } finally {
      this.pinging = false;
    }
  }

  private async ping(slot: Slot): Promise<void> {
    if (this.deps.stopped() || slot.state !== 'ready' || !slot.connection) return;
    const stdio = 'command' in slot.config;
    if (stdio && slot.inflight > 0) return;
    const connection = slot.connection;
    try {
      await connection.client.ping({ timeout: 5_000 });
    } catch (error) {
      if (stdio) {
        // Silence (a timeout) or a closed pipe is a hung or dead process; an error answer is not.
        const silent =
          !(error instanceof McpError) ||
          error.code === ErrorCode.RequestTimeout ||
          error.code === ErrorCode.ConnectionClosed;
        if (silent && slot.connection === connection && slot.inflight === 0) this.deps.lost(slot, error);
      } else if (sessionLost(error)) await this.deps.heal(slot, connection);
      else if (slot.connection === connection) this.deps.lost(slot, error);
    }
  }
}
