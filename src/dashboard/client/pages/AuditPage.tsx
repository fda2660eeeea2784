/**
 * The audit log: filter by run, tool, kind, decision, code and time; page
 * through with the id cursor the API returns (never OFFSET, so page 1,000 of
 * 100,000 events costs what page 1 does). The newest page grows live.
 * Filters live in the URL, so a filtered view can be linked and reloaded.
 */
import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { DENIAL_CODES } from '../../../errors.js';
import { EVENT_KINDS } from '../../../events/event.js';
import { Badge, DecisionBadge } from '../components/Badge.js';
import { kindLabel, kindTone, summary } from '../components/EventSummary.js';
import { Empty, ErrorNote, Loading } from '../components/Notice.js';
import { EventData } from '../components/Timeline.js';
import { useApp } from '../context.js';
import { count, dateTime, shortId } from '../format.js';
import { useLoader } from '../hooks.js';
import { useLiveEvents } from '../live.js';
import { href, navigate } from '../router.js';
import type { AuditEvent, EventPage, ProfileTools } from '../types.js';

const PAGE = 100;
const FILTERS = ['run', 'tool', 'kind', 'decision', 'code', 'since', 'until'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

export function AuditPage({ query }: { query: URLSearchParams }) {
  const { api, feed } = useApp();
  const filters: Filters = {};
  for (const f of FILTERS) {
    const v = query.get(f);
    if (v) filters[f] = v;
  }
  const before = query.get('before') ?? undefined;
  const after = query.get('after') ?? undefined;
  const key = query.toString();

  const page = useLoader(async () => {
    const params = new URLSearchParams({ ...filters, limit: String(PAGE) });
    if (before) params.set('before', before);
    if (after) params.set('after', after);
    const result = await api.get<EventPage>(`/api/events?${params}`);
    // `after` pages come oldest first from the API; the table is always newest first.
    return after ? { ...result, events: [...result.events].reverse() } : result;
  }, [key]);
  const tools = useLoader(() => api.get<{ profiles: ProfileTools[] }>('/api/tools'), []);
  const [live, setLive] = useState<{ key: string; events: AuditEvent[] }>({ key, events: [] });
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set());

  const newest = !before && !after;
  useLiveEvents(feed, (event) => {
    if (!newest || !matches(event, filters)) return;
    setLive((prev) => ({ key, events: [event, ...(prev.key === key ? prev.events : [])].slice(0, PAGE) }));
  });

  const liveEvents = live.key === key ? live.events : [];
  const shown = useMemo(() => {
    const byId = new Map<number, AuditEvent>();
    for (const e of [...liveEvents, ...(page.data?.events ?? [])]) byId.set(e.id, e);
    return [...byId.values()].sort((x, y) => y.id - x.id).slice(0, PAGE);
  }, [liveEvents, page.data]);
  const extra = page.data
    ? liveEvents.filter((e) => !page.data?.events.some((p) => p.id === e.id)).length
    : 0;
  const total = (page.data?.total ?? 0) + extra;

  const toolNames = useMemo(
    () => [...new Set((tools.data?.profiles ?? []).flatMap((p) => p.tools.map((t) => t.name)))].sort(),
    [tools.data],
  );
  const oldestShown = shown.at(-1)?.id;
  const newestShown = shown[0]?.id;
  const hasOlder = after !== undefined || (page.data?.next_before ?? null) !== null;
  const withFilters = (extraParams: Record<string, string>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) params.set(k, v);
    for (const [k, v] of Object.entries(extraParams)) params.set(k, v);
    const s = params.toString();
    return `/audit${s ? `?${s}` : ''}`;
  };

  return (
    <main class="page" aria-labelledby="page-title">
      <div class="page-head">
        <div>
          <h1 id="page-title">Audit log</h1>
          <p class="subtitle" aria-live="polite" data-testid="audit-total">
            {page.data ? `${count(total)} matching events` : ''}
            {newest ? ' · newest first, live' : ''}
          </p>
        </div>
      </div>
      <FilterForm filters={filters} toolNames={toolNames} />
      <ErrorNote error={page.error} />
      {page.loading && !page.data ? <Loading /> : null}
      {page.data && shown.length === 0 ? <Empty>No events match these filters.</Empty> : null}
      {shown.length ? (
        <table class="table audit-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Run</th>
              <th scope="col">Event</th>
              <th scope="col">Tool</th>
              <th scope="col">Decision</th>
              <th scope="col">Summary</th>
              <th scope="col">
                <span class="visually-hidden">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => {
              const isOpen = open.has(e.id);
              return (
                <Fragment key={e.id}>
                  <tr data-event-id={e.id} class={isOpen ? 'row-open' : undefined}>
                    <td data-label="Time" class="nowrap">
                      <time dateTime={new Date(e.at).toISOString()}>{dateTime(e.at)}</time>
                    </td>
                    <td data-label="Run">
                      {e.runId ? (
                        <a class="mono" href={href(`/runs/${encodeURIComponent(e.runId)}`)} title={e.runId}>
                          {shortId(e.runId)}
                        </a>
                      ) : (
                        <span class="quiet">—</span>
                      )}
                    </td>
                    <td data-label="Event">
                      <Badge tone={kindTone(e)}>{kindLabel(e.kind)}</Badge>
                    </td>
                    <td data-label="Tool" class="mono">
                      {e.tool ?? <span class="quiet">—</span>}
                    </td>
                    <td data-label="Decision">
                      {e.decision || e.code ? (
                        <DecisionBadge decision={e.decision} code={e.code} />
                      ) : (
                        <span class="quiet">—</span>
                      )}
                    </td>
                    <td data-label="Summary" class="summary-cell">
                      {summary(e)}
                    </td>
                    <td class="actions">
                      <button
                        type="button"
                        class="btn btn-small btn-ghost"
                        aria-expanded={isOpen}
                        aria-controls={`event-${e.id}`}
                        onClick={() => {
                          const next = new Set(open);
                          if (isOpen) next.delete(e.id);
                          else next.add(e.id);
                          setOpen(next);
                        }}
                      >
                        {isOpen ? 'Hide' : 'Details'}
                      </button>
                    </td>
                  </tr>
                  {isOpen ? (
                    <tr class="detail-row" id={`event-${e.id}`}>
                      <td colSpan={7}>
                        <EventData event={e} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <nav class="pager" aria-label="Pages of the audit log">
        <button type="button" class="btn" disabled={newest} onClick={() => navigate(withFilters({}))}>
          Newest
        </button>
        <button
          type="button"
          class="btn"
          disabled={newest || newestShown === undefined}
          onClick={() => newestShown !== undefined && navigate(withFilters({ after: String(newestShown) }))}
        >
          ← Newer
        </button>
        <button
          type="button"
          class="btn"
          disabled={!hasOlder || oldestShown === undefined}
          onClick={() => oldestShown !== undefined && navigate(withFilters({ before: String(oldestShown) }))}
        >
          Older →
        </button>
      </nav>
    </main>
  );
}

function matches(e: AuditEvent, f: Filters): boolean {
  if (f.run && e.runId !== f.run) return false;
  if (f.tool && e.tool !== f.tool) return false;
  if (f.kind && e.kind !== f.kind) return false;
  if (f.decision && e.decision !== f.decision) return false;
  if (f.code && e.code !== f.code) return false;
  if (f.since && e.at < Number(f.since)) return false;
  if (f.until && e.at > Number(f.until)) return false;
  return true;
}

/** epoch ms ↔ the value of a datetime-local input, in the browser's time zone. */
function toLocalInput(ms: string | undefined): string {
  if (!ms) return '';
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function FilterForm({ filters, toolNames }: { filters: Filters; toolNames: string[] }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const params = new URLSearchParams();
    for (const f of FILTERS) {
      const raw = String(data.get(f) ?? '').trim();
      if (!raw) continue;
      params.set(f, f === 'since' || f === 'until' ? String(new Date(raw).getTime()) : raw);
    }
    const s = params.toString();
    navigate(`/audit${s ? `?${s}` : ''}`);
  };
  // Keyed by the filters so the inputs show the URL's values after back/forward.
  return (
    <form class="filters panel" onSubmit={submit} key={JSON.stringify(filters)} aria-label="Filter events">
      <label class="field">
        <span>Run</span>
        <input name="run" class="mono" defaultValue={filters.run ?? ''} placeholder="run id" />
      </label>
      <label class="field">
        <span>Tool</span>
        <input
          name="tool"
          class="mono"
          list="audit-tools"
          defaultValue={filters.tool ?? ''}
          placeholder="any"
        />
        <datalist id="audit-tools">
          {toolNames.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
      </label>
      <label class="field">
        <span>Event</span>
        <select name="kind" defaultValue={filters.kind ?? ''}>
          <option value="">any</option>
          {EVENT_KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        <span>Decision</span>
        <select name="decision" defaultValue={filters.decision ?? ''}>
          <option value="">any</option>
          <option value="allow">allow</option>
          <option value="deny">deny</option>
          <option value="hold">hold</option>
        </select>
      </label>
      <label class="field">
        <span>Code</span>
        <input
          name="code"
          class="mono"
          list="audit-codes"
          defaultValue={filters.code ?? ''}
          placeholder="any"
        />
        <datalist id="audit-codes">
          {DENIAL_CODES.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
      </label>
      <label class="field">
        <span>From</span>
        <input name="since" type="datetime-local" defaultValue={toLocalInput(filters.since)} />
      </label>
      <label class="field">
        <span>Until</span>
        <input name="until" type="datetime-local" defaultValue={toLocalInput(filters.until)} />
      </label>
      <div class="filter-actions">
        <button type="submit" class="btn btn-primary">
          Apply filters
        </button>
        <a class="btn btn-ghost" href={href('/audit')}>
          Clear
        </a>
      </div>
    </form>
  );
}
