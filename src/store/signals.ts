/**
 * The in-process signal bus: what a single gateway (or the SQLite store, which
 * has no push channel between processes) uses. Other processes on the same
 * SQLite file still see decisions and kills by polling.
 */
import type { Signal, SignalBus } from './store.js';

export class LocalSignals implements SignalBus {
  private readonly listeners = new Set<(signal: Signal) => void>();

  async publish(signal: Signal): Promise<void> {
    this.deliver(signal);
  }

  subscribe(listener: (signal: Signal) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  live(): boolean {
    return false;
  }

  /** Hands a signal to every listener; a broken listener never stops the others. */
  deliver(signal: Signal): void {
    for (const listener of this.listeners) {
      try {
        listener(signal);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}
