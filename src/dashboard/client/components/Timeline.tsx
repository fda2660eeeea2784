/**
 * A run's events, newest first: time, kind, decision and a one-line summary;
 * opening an entry shows its arguments and result, scrubbed and pretty-printed.
 */
import { Component } from 'preact';
import { useState } from 'preact/hooks';
import { clock, dateTime } from '../format.js';
import type { AuditEvent } from '../types.js';
import { Badge, DecisionBadge } from './Badge.js';
import { kindLabel, kindTone, summary } from './EventSummary.js';
import { JsonView } from './JsonView.js';

export function Timeline({ events, fresh }: { events: AuditEvent[]; fresh?: ReadonlySet<number> }) {
  return (
    <ol class="timeline" aria-label="Events, newest first">
      {events.map((event) => (
        <TimelineItem key={event.id} event={event} fresh={fresh?.has(event.id) ?? false} />
      ))}
    </ol>
  );
}

/**
 * An event never changes once written, so an item re-renders only when its
 * highlight does: a live timeline of 500 entries stays cheap per new event.
 */
class TimelineItem extends Component<{ event: AuditEvent; fresh: boolean }> {
  override shouldComponentUpdate(next: { event: AuditEvent; fresh: boolean }): boolean {
    return next.event.id !== this.props.event.id || next.fresh !== this.props.fresh;
  }

  override render() {
    const { event, fresh } = this.props;
    const tone = kindTone(event);
    return (
      <li
        class={`tl-item tl-${tone}${fresh ? ' fresh' : ''}`}
        data-event-id={event.id}
        data-kind={event.kind}
      >
        <time class="tl-time" dateTime={new Date(event.at).toISOString()} title={dateTime(event.at)}>
          {clock(event.at)}
        </time>
        <div class="tl-main">
          <div class="tl-head">
            <Badge tone={tone}>{kindLabel(event.kind)}</Badge>
            {event.kind === 'tools/call' ? (
              <DecisionBadge decision={event.decision} code={event.code} />
            ) : null}
            <span class="tl-summary">{summary(event)}</span>
          </div>
          {Object.keys(event.data).length > 0 ? <LazyDetails event={event} /> : null}
        </div>
      </li>
    );
  }
}

/** The pretty-printed data is built only once opened: most entries are never opened. */
function LazyDetails({ event }: { event: AuditEvent }) {
  const [open, setOpen] = useState(false);
  return (
    <details class="tl-details" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Details</summary>
      {open ? <EventData event={event} /> : null}
    </details>
  );
}

/** Arguments and result first (what an operator looks for), then everything else. */
export function EventData({ event }: { event: AuditEvent }) {
  const { arguments: args, result, ...rest } = event.data as Record<string, unknown>;
  return (
    <div class="event-data">
      {args !== undefined ? (
        <section>
          <h4>Arguments</h4>
          <JsonView value={args} label="Arguments" />
        </section>
      ) : null}
      {result !== undefined ? (
        <section>
          <h4>Result</h4>
          <JsonView value={result} label="Result" />
        </section>
      ) : null}
      {Object.keys(rest).length ? (
        <section>
          <h4>Detail</h4>
          <JsonView value={{ actor: event.actor, ...rest }} label="Detail" />
        </section>
      ) : null}
    </div>
  );
}
