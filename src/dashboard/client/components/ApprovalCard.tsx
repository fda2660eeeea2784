/**
 * One held call waiting for a human: what the agent wants to do (tool, class,
 * arguments), why it was held, the run's recent events as context, and how
 * long is left before it times out (a timeout is a denial). The operator
 * approves, approves edited arguments, or denies with a reason.
 */
import { useState } from 'preact/hooks';
import { ApiError, messageOf } from '../api.js';
import { useApp } from '../context.js';
import { ago, dateTime, duration } from '../format.js';
import { useLoader } from '../hooks.js';
import { useLiveEvents } from '../live.js';
import { href } from '../router.js';
import type { ApprovalView, AuditEvent } from '../types.js';
import { ClassBadge, StateBadge } from './Badge.js';
import { JsonView } from './JsonView.js';
import { Timeline } from './Timeline.js';

export function ApprovalCard(props: { approval: ApprovalView; now: number; onDecided: () => void }) {
  const { api, session, feed } = useApp();
  const a = props.approval;
  const context = useLoader(
    () => api.get<{ context: AuditEvent[] }>(`/api/approvals/${encodeURIComponent(a.id)}`),
    [a.id],
  );
  useLiveEvents(feed, (event) => {
    if (event.runId === a.run_id) context.refresh();
  });
  const [reason, setReason] = useState('');
  const [editing, setEditing] = useState(false);
  const [edited, setEdited] = useState(() => JSON.stringify(a.arguments, null, 2));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);

  const left = a.expires_at - props.now;
  const pending = a.state === 'pending';
  const voted = a.votes.some((v) => v.operator === session.operator.name);
  const mayDecide = session.operator.roles.some((r) => a.approvers.includes(r));
  const titleId = `approval-${a.id}`;

  const decide = async (decision: 'approve' | 'deny') => {
    setError(undefined);
    let args: Record<string, unknown> | undefined;
    if (decision === 'approve' && editing) {
      try {
        const parsed: unknown = JSON.parse(edited);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        args = parsed as Record<string, unknown>;
      } catch {
        setError('The edited arguments are not a JSON object.');
        return;
      }
    }
    setBusy(true);
    try {
      const body =
        decision === 'deny'
          ? { reason: reason.trim() }
          : {
              // What this card showed: refused by the gateway if another approver changed it since.
              args_hash: a.run_hash,
              ...(reason.trim() ? { reason: reason.trim() } : {}),
              ...(args ? { arguments: args } : {}),
            };
      const { approval } = await api.post<{ approval: ApprovalView }>(
        `/api/approvals/${encodeURIComponent(a.id)}/${decision}`,
        body,
      );
      setDone(
        approval.state === 'pending'
          ? `Your vote is in: ${approval.votes.length} of ${approval.quorum}.`
          : `${decision === 'approve' ? 'Approved' : 'Denied'}.`,
      );
      props.onDecided();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <article class="panel approval" aria-labelledby={titleId} data-approval-id={a.id} data-tool={a.tool}>
      <header class="approval-head">
        <div>
          <h2 id={titleId} class="approval-tool">
            <span class="mono">{a.tool}</span> <ClassBadge value={a.class} />{' '}
            {pending ? null : <StateBadge state={a.state} />}
          </h2>
          <p class="subtitle">
            Run{' '}
            <a class="mono" href={href(`/runs/${encodeURIComponent(a.run_id)}`)}>
              {a.run_id}
            </a>{' '}
            · requested <span title={dateTime(a.created_at)}>{ago(a.created_at, props.now)}</span>
          </p>
        </div>
        {pending ? (
          <div
            class={`time-left${left < 60_000 ? ' time-left-urgent' : ''}`}
            role="timer"
            aria-label="Time left"
          >
            <span class="time-left-value">{left > 0 ? duration(left) : 'expired'}</span>
            <span class="time-left-label">left, then denied</span>
          </div>
        ) : null}
      </header>
      {a.why ? <p class="why">{a.why}</p> : null}
      {pending && a.waiting === 0 ? (
        <p class="why">
          The agent that asked is no longer waiting: approving lets only an identical retry run it.
        </p>
      ) : null}
      {a.identical?.length ? (
        <ul class="votes" aria-label="Identical calls">
          {a.identical.map((o) => (
            <li key={o.id}>
              An identical call of this run is <strong>{o.state}</strong> ({o.id})
            </li>
          ))}
        </ul>
      ) : null}
      <p class="quorum">
        Needs {a.quorum} approval{a.quorum === 1 ? '' : 's'} from <strong>{a.approvers.join(', ')}</strong>
        {a.votes.length ? ` · ${a.votes.length} vote${a.votes.length === 1 ? '' : 's'} so far` : ''}
      </p>
      {a.votes.length ? (
        <ul class="votes" aria-label="Votes">
          {a.votes.map((v) => (
            <li key={`${v.operator}-${v.at}`}>
              <strong>{v.operator}</strong> {v.decision === 'approve' ? 'approved' : 'denied'}{' '}
              {ago(v.at, props.now)}
              {v.reason ? ` — “${v.reason}”` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      <div class="approval-grid">
        <section>
          <h3>Arguments</h3>
          {editing ? (
            <label class="field">
              <span>Edited arguments (JSON; checked against the tool's schema)</span>
              <textarea
                class="mono"
                rows={Math.min(16, edited.split('\n').length + 1)}
                value={edited}
                onInput={(e) => setEdited(e.currentTarget.value)}
                spellcheck={false}
              />
            </label>
          ) : (
            <JsonView value={a.edited_arguments ?? a.arguments} label="Arguments" />
          )}
          <p class="quiet mono small" title="The approval is bound to exactly these arguments">
            sha256 {a.args_hash.slice(0, 16)}…
          </p>
        </section>
        <section>
          <h3>Run context</h3>
          {context.data ? (
            <Timeline events={context.data.context.slice(0, 8)} />
          ) : context.error ? (
            <p class="quiet">{messageOf(context.error)}</p>
          ) : (
            <p class="quiet">Loading…</p>
          )}
        </section>
      </div>
      {pending && !done ? (
        mayDecide && !voted ? (
          <div class="decide">
            <label class="field">
              <span>Reason (required to deny; kept in the audit log)</span>
              <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} maxLength={1000} />
            </label>
            <div class="decide-actions">
              <button
                type="button"
                class="btn btn-primary"
                disabled={busy}
                onClick={() => void decide('approve')}
              >
                {editing ? 'Approve edited arguments' : 'Approve'}
              </button>
              <button
                type="button"
                class="btn btn-danger"
                disabled={busy || !reason.trim()}
                onClick={() => void decide('deny')}
                title={reason.trim() ? undefined : 'Give a reason to deny'}
              >
                Deny
              </button>
              {a.editable ? (
                <button
                  type="button"
                  class="btn btn-ghost"
                  onClick={() => setEditing(!editing)}
                  aria-pressed={editing}
                >
                  {editing ? 'Cancel edit' : 'Edit arguments'}
                </button>
              ) : null}
            </div>
          </div>
        ) : (
          <p class="quiet">
            {voted
              ? 'You have voted; waiting for others.'
              : `Deciding needs one of the roles: ${a.approvers.join(', ')}.`}
          </p>
        )
      ) : null}
      {done ? (
        <p class="note note-ok" role="status">
          {done}
        </p>
      ) : null}
      {error ? (
        <p class="note note-error" role="alert">
          {error}
        </p>
      ) : null}
    </article>
  );
}
