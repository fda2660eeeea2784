/**
 * Runs: every run with its state, profile, age, taint and budget bars, kept
 * current by the live feed. Kill one (after a confirm) or all active runs.
 */
import { useState } from 'preact/hooks';
import { StateBadge, TaintBadge } from '../components/Badge.js';
import { BudgetBar } from '../components/BudgetBar.js';
import { CallChart } from '../components/CallChart.js';
import { CallCounts } from '../components/CallCounts.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { Empty, ErrorNote, Loading } from '../components/Notice.js';
import { useApp } from '../context.js';
import { ago, count, dateTime } from '../format.js';
import { useLoader, useNow } from '../hooks.js';
import { useLiveEvents } from '../live.js';
import { href } from '../router.js';
import type { RunView } from '../types.js';
import { liveUsage } from '../usage.js';

export function RunsPage() {
  const { api, feed } = useApp();
  const now = useNow();
  const runs = useLoader(() => api.get<{ runs: RunView[] }>('/api/runs'), []);
  const [confirm, setConfirm] = useState<{ run?: RunView } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useLiveEvents(feed, (event) => {
    if (event.runId) runs.refresh();
  });

  const list = runs.data?.runs ?? [];
  const active = list.filter((r) => r.state === 'active');

  const kill = async (reason: string) => {
    try {
      if (confirm?.run)
        await api.post(`/api/runs/${encodeURIComponent(confirm.run.id)}/kill`, reason ? { reason } : {});
      else await api.post('/api/kill-all');
      setConfirm(undefined);
      setError(undefined);
    } catch (e) {
      setError(e);
      setConfirm(undefined);
    }
    runs.refresh();
  };

  return (
    <main class="page" aria-labelledby="page-title">
      <div class="page-head">
        <div>
          <h1 id="page-title">Runs</h1>
          <p class="subtitle">
            {count(active.length)} active · {count(list.length)} total
          </p>
        </div>
        <button
          type="button"
          class="btn btn-danger"
          disabled={active.length === 0}
          onClick={() => setConfirm({})}
        >
          Kill all active runs
        </button>
      </div>
      <ErrorNote error={error ?? runs.error} />
      <CallChart />
      {runs.loading && !runs.data ? <Loading /> : null}
      {runs.data && list.length === 0 ? (
        <Empty>
          No runs yet. Start one with <code>bulkhead run</code>.
        </Empty>
      ) : null}
      {list.length ? (
        <table class="table runs-table">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">State</th>
              <th scope="col">Profile</th>
              <th scope="col">Age</th>
              <th scope="col">Calls</th>
              <th scope="col">Taint</th>
              <th scope="col">Budgets</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((run) => (
              <tr key={run.id} data-run-id={run.id}>
                <td data-label="Run">
                  <a class="mono" href={href(`/runs/${encodeURIComponent(run.id)}`)}>
                    {run.id}
                  </a>
                  {run.label ? <div class="quiet">{run.label}</div> : null}
                </td>
                <td data-label="State">
                  <StateBadge state={run.state} />
                </td>
                <td data-label="Profile">{run.profile}</td>
                <td data-label="Age">
                  <span title={dateTime(run.created_at)}>{ago(run.created_at, now)}</span>
                </td>
                <td data-label="Calls">
                  <CallCounts calls={run.calls} />
                </td>
                <td data-label="Taint">
                  <TaintBadge taint={run.taint} />
                </td>
                <td data-label="Budgets" class="budgets-cell">
                  <div>
                    {liveUsage(run, now).map((u) => (
                      <BudgetBar key={u.dimension} usage={u} compact />
                    ))}
                  </div>
                </td>
                <td class="actions">
                  {run.state === 'active' ? (
                    <button
                      type="button"
                      class="btn btn-danger btn-small"
                      aria-label={`Kill run ${run.id}`}
                      onClick={() => setConfirm({ run })}
                    >
                      Kill
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {confirm ? (
        <ConfirmDialog
          title={confirm.run ? 'Kill this run?' : `Kill all ${active.length} active runs?`}
          confirmLabel={confirm.run ? 'Kill run' : 'Kill all'}
          reasonLabel={confirm.run ? 'Reason (kept in the audit log)' : undefined}
          onConfirm={kill}
          onClose={() => setConfirm(undefined)}
        >
          {confirm.run ? (
            <p>
              Run <code>{confirm.run.id}</code> ({confirm.run.profile}) gets no further tool calls; calls in
              flight are cancelled. This cannot be undone.
            </p>
          ) : (
            <p>
              Every active run gets no further tool calls; calls in flight are cancelled. This cannot be
              undone.
            </p>
          )}
        </ConfirmDialog>
      ) : null}
    </main>
  );
}
