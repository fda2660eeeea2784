/**
 * Approvals: held calls arrive here live. `/approvals` lists the pending
 * ones; `/approvals/ID` (the link in notifications) shows one in any state.
 */
import { ApiError } from '../api.js';
import { ApprovalCard } from '../components/ApprovalCard.js';
import { Empty, ErrorNote, Loading } from '../components/Notice.js';
import { useApp } from '../context.js';
import { useLoader, useNow } from '../hooks.js';
import { useLiveEvents } from '../live.js';
import { href } from '../router.js';
import type { ApprovalView } from '../types.js';

export function ApprovalsPage({ id }: { id?: string }) {
  const { api, feed } = useApp();
  const now = useNow();
  const list = useLoader(
    () =>
      id
        ? api
            .get<{ approval: ApprovalView }>(`/api/approvals/${encodeURIComponent(id)}`)
            .then((r) => [r.approval])
        : api.get<{ approvals: ApprovalView[] }>('/api/approvals?state=pending').then((r) => r.approvals),
    [id],
  );
  useLiveEvents(feed, (event) => {
    if (event.kind.startsWith('approval.') || event.decision === 'hold') list.refresh();
  });

  const approvals = [...(list.data ?? [])].sort((x, y) => x.expires_at - y.expires_at);
  const unavailable = list.error instanceof ApiError && list.error.status === 404 && !id;

  return (
    <main class="page" aria-labelledby="page-title">
      <div class="page-head">
        <div>
          {id ? (
            <nav class="crumbs" aria-label="Breadcrumb">
              <a href={href('/approvals')}>Approvals</a> <span aria-hidden="true">/</span>{' '}
              <span class="mono">{id}</span>
            </nav>
          ) : null}
          <h1 id="page-title">{id ? 'Approval' : 'Pending approvals'}</h1>
          {id ? null : (
            <p class="subtitle" aria-live="polite">
              {list.data ? `${approvals.length} waiting, soonest deadline first` : ''}
            </p>
          )}
        </div>
      </div>
      {unavailable ? (
        <Empty>This gateway does not hold calls for approval.</Empty>
      ) : (
        <ErrorNote error={list.error} />
      )}
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && approvals.length === 0 ? (
        <Empty>
          Nothing is waiting for a decision. Held calls appear here the moment an agent makes one.
        </Empty>
      ) : null}
      <div class="approvals">
        {approvals.map((a) => (
          <ApprovalCard key={a.id} approval={a} now={now} onDecided={list.refresh} />
        ))}
      </div>
    </main>
  );
}
