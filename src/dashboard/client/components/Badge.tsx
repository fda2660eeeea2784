/** Colored labels for run states, decisions, tool classes and event kinds. */
import type { ComponentChildren } from 'preact';

export function Badge({
  tone,
  children,
  title,
}: {
  tone: string;
  children: ComponentChildren;
  title?: string;
}) {
  return (
    <span class={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

const STATE_TONES: Record<string, string> = {
  active: 'good',
  completed: 'muted',
  killed: 'bad',
  expired: 'warn',
  exhausted: 'warn',
  pending: 'warn',
  approved: 'good',
  denied: 'bad',
  executed: 'muted',
  timed_out: 'bad',
  withdrawn: 'muted',
};

export function StateBadge({ state }: { state: string }) {
  return <Badge tone={STATE_TONES[state] ?? 'muted'}>{state.replace(/_/g, ' ')}</Badge>;
}

export function DecisionBadge({ decision, code }: { decision: string | null; code?: string | null }) {
  if (!decision) return code ? <Badge tone="muted">{code}</Badge> : null;
  const tone = decision === 'allow' ? 'good' : decision === 'deny' ? 'bad' : 'warn';
  return (
    <Badge tone={tone}>
      {decision}
      {code ? <span class="badge-code">{code}</span> : null}
    </Badge>
  );
}

const CLASS_TONES: Record<string, string> = {
  read: 'muted',
  write: 'info',
  irreversible: 'bad',
  external: 'warn',
};

export function ClassBadge({ value }: { value: string }) {
  return <Badge tone={CLASS_TONES[value] ?? 'muted'}>{value}</Badge>;
}

export function TaintBadge({ taint }: { taint: { untrusted: boolean; sources: string[] } }) {
  if (!taint.untrusted) return <span class="quiet">clean</span>;
  return (
    <Badge tone="warn" title={`Untrusted content from: ${taint.sources.join(', ')}`}>
      tainted{taint.sources.length ? ` · ${taint.sources.join(', ')}` : ''}
    </Badge>
  );
}
