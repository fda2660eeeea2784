/**
 * The live feed: one EventSource on `/api/stream` for the whole page, fanned
 * out to whatever is on screen. The browser reconnects by itself and sends
 * the last event id, and the server replays what was missed, so a page that
 * lost its connection for a moment shows every event anyway.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { AuditEvent } from './types.js';

export type LiveStatus = 'connecting' | 'live' | 'offline';

export class LiveFeed {
  private source: EventSource | undefined;
  private readonly listeners = new Set<(event: AuditEvent) => void>();
  private readonly statusListeners = new Set<(status: LiveStatus) => void>();
  status: LiveStatus = 'connecting';

  constructor(
    private readonly url: string,
    private readonly onSignedOut: () => void,
  ) {}

  start(): void {
    if (this.source) return;
    const source = new EventSource(this.url);
    this.source = source;
    source.addEventListener('open', () => this.setStatus('live'));
    source.addEventListener('error', () => {
      // CLOSED means the server refused the reconnect (signed out, 401): check the session.
      if (source.readyState === EventSource.CLOSED) {
        this.stop();
        this.onSignedOut();
      }
      this.setStatus('offline');
    });
    source.addEventListener('audit', (message) => {
      const event = JSON.parse((message as MessageEvent<string>).data) as AuditEvent;
      for (const listener of this.listeners) listener(event);
    });
    source.addEventListener('signed-out', () => {
      this.stop();
      this.onSignedOut();
    });
    // Too far behind to replay: the page reloads its data from the API.
    source.addEventListener('reset', () => window.location.reload());
  }

  stop(): void {
    this.source?.close();
    this.source = undefined;
    this.setStatus('offline');
  }

  subscribe(listener: (event: AuditEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onStatus(listener: (status: LiveStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private setStatus(status: LiveStatus): void {
    if (status === this.status) return;
    this.status = status;
    for (const l of this.statusListeners) l(status);
  }
}

/** Calls `listener` for every live event while the component is mounted; the latest closure always runs. */
export function useLiveEvents(feed: LiveFeed, listener: (event: AuditEvent) => void): void {
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => feed.subscribe((event) => latest.current(event)), [feed]);
}
