/**
 * One run: its state, budgets and taint at the top, then its timeline, which
 * grows live as the agent works. Kill is one click plus a confirm.
 */
import { useState } from 'preact/hooks';
import { StateBadge, TaintBadge } from '../components/Badge.js';
import { BudgetBar } from '../components/BudgetBar.js';
import { CallChart } from '../components/CallChart.js';
import { CallCounts } from '../components/CallCounts.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { Empty, ErrorNote, Loading } from '../components/Notice.js';
import { Timeline } from '../components/Timeline.js';
import { useApp } from '../context.js';
import { ago, dateTime, duration } from '../format.js';
import { useLoader, useNow } from '../hooks.js';
import { useLiveEvents } from '../live.js';
import { href } from '../router.js';
import type { AuditEvent, RunView } from '../types.js';
import { liveUsage } from '../usage.js';

/** The timeline keeps this many events on screen; older ones are in the audit log. */
const KEEP = 500;

export function RunPage({ id }: { id: string }) {
  const { api, feed } = useApp();
  const now = useNow();
  const loaded = useLoader(
    () => api.get<{ run: RunView; events: AuditEvent[] }>(`/api/runs/${encodeURIComponent(id)}`),
    [id],
  );
  const [live, setLive] = useState<{ id: string; events: AuditEvent[] }>({ id, events: [] });
  const [fresh] = useState(() => new Set<number>());
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  useLiveEvents(feed, (event) => {
    if (event.runId !== id) return;
    fresh.add(event.id);
    setLive((prev) => ({ id, events: [event, ...(prev.id === id ? prev.events : [])].slice(0, KEEP) }));
    loaded.refresh();
  });

  const run = loaded.data?.run;
  // Live events and the last load overlap: merge by id, newest first.
  const events = mergeEvents(live.id === id ? live.events : [], loaded.data?.events ?? []);

  const kill = async (reason: string) => {
    try {
      await api.post(`/api/runs/${encodeURIComponent(id)}/kill`, reason ? { reason } : {});
      setError(undefined);
    } catch (e) {
      setError(e);
    }
    setConfirm(false);
    loaded.refresh();
  };

  return (
    <main class="page" aria-labelledby="page-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href('/runs')}>Runs</a> <span aria-hidden="true">/</span> <span class="mono">{id}</span>
      </nav>
      <ErrorNote error={error ?? loaded.error} />
      {!run && loaded.loading ? <Loading /> : null}
      {run ? (
        <>
          <div class="page-head">
            <div>
              <h1 id="page-title" class="run-title">
                <span class="mono">{run.id}</span> <StateBadge state={run.state} />
              </h1>
              <p class="subtitle">
                Profile <strong>{run.profile}</strong> · started{' '}
                <span title={dateTime(run.created_at)}>{ago(run.created_at, now)}</span>
                {run.ended_at ? (
                  <>
                    {' '}
                    · ended after {duration(run.ended_at - run.created_at)}
                    {run.end_reason ? ` (${run.end_reason})` : ''}
                  </>
                ) : (
                  <> · expires in {duration(run.expires_at - now)}</>
                )}
              </p>
            </div>
            <div class="head-actions">
              <a class="btn" href={href(`/audit?run=${encodeURIComponent(run.id)}`)}>
                Open in audit log
              </a>
              {run.state === 'active' ? (
                <button type="button" class="btn btn-danger" onClick={() => setConfirm(true)}>
                  Kill run
                </button>
              ) : null}
            </div>
          </div>
          <section class="panel run-summary" aria-label="Budgets and taint">
            <div class="budgets">
              {liveUsage(run, now).map((u) => (
                <BudgetBar key={u.dimension} usage={u} />
              ))}
            </div>
            <div class="taint">
              <span class="budget-label">Calls</span> <CallCounts calls={run.calls} />
            </div>
            <div class="taint">
              <span class="budget-label">Taint</span> <TaintBadge taint={run.taint} />
            </div>
          </section>
          <CallChart
            runId={run.id}
            minutes={Math.min(
              24 * 60,
              Math.max(10, Math.ceil(((run.ended_at ?? now) - run.created_at) / 60_000)),
            )}
          />
          <section aria-labelledby="timeline-title">
            <h2 id="timeline-title">Timeline</h2>
            {events.length ? <Timeline events={events} fresh={fresh} /> : <Empty>No events yet.</Empty>}
          </section>
        </>
      ) : null}
      {confirm && run ? (
        <ConfirmDialog
          title="Kill this run?"
          confirmLabel="Kill run"
          reasonLabel="Reason (kept in the audit log)"
          onConfirm={kill}
          onClose={() => setConfirm(false)}
        >
          <p>
            Run <code>{run.id}</code> gets no further tool calls; calls in flight are cancelled. This cannot
            be undone.
          </p>
        </ConfirmDialog>
      ) : null}
    </main>
  );
}

export function mergeEvents(a: AuditEvent[], b: AuditEvent[]): AuditEvent[] {
  const byId = new Map<number, AuditEvent>();
  for (const e of [...a, ...b]) if (!byId.has(e.id)) byId.set(e.id, e);
  return [...byId.values()].sort((x, y) => y.id - x.id).slice(0, KEEP);
}
