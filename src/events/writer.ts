/**
 * The one writer of audit events. Every event is scrubbed here, before the
 * store sees it, and then published to live subscribers (dashboard, SSE), so
 * no path can store or show an unscrubbed event.
 */
import type { Scrubber } from '../scrub/index.js';
import type { EventStore } from '../store/store.js';
import type { AuditEvent, NewEvent } from './event.js';

export type EventListener = (event: AuditEvent) => void;

export class EventWriter {
  private readonly listeners = new Set<EventListener>();

  constructor(
    private readonly store: EventStore,
    private readonly scrubber: Scrubber,
  ) {}

  /** Durable when the promise resolves: callers await it before answering the agent. */
  async write(event: NewEvent): Promise<AuditEvent> {
    const scrubbed: NewEvent = {
      ...event,
      ...(event.code ? { code: this.scrubber.text(event.code) } : {}),
      ...(event.tool ? { tool: this.scrubber.text(event.tool) } : {}),
      data: this.scrubber.value(event.data),
    };
    const stored = await this.store.append(scrubbed);
    for (const listener of this.listeners) {
      try {
        listener(stored);
      } catch {
        // A broken subscriber must not fail the write that every decision depends on.
      }
    }
    return stored;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
