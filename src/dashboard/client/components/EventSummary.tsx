/**
 * One line that says what an audit event means to an operator: which tool,
 * what the gateway decided and why, who decided an approval.
 */
import type { AuditEvent } from '../types.js';

const KIND_LABELS: Record<string, string> = {
  'tools/call': 'call',
  'tools/list': 'list tools',
  'run.created': 'run created',
  'run.ended': 'run ended',
  'run.tainted': 'tainted',
  'run.data_read': 'read private data',
  'approval.requested': 'approval requested',
  'approval.decided': 'approval decided',
  'approval.executed': 'approved call ran',
  'budget.charged': 'budget',
  'budget.alert': 'budget alert',
  'llm.request': 'LLM request',
  egress: 'egress',
  upstream: 'upstream',
  'tool.changed': 'definition withheld',
  'output.flagged': 'output flagged',
};

export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

export function kindTone(event: AuditEvent): string {
  if (event.decision === 'deny') return 'bad';
  if (event.decision === 'hold' || event.kind.startsWith('approval.')) return 'warn';
  if (event.kind === 'run.tainted' || event.kind === 'output.flagged' || event.kind === 'budget.alert')
    return 'warn';
  if (event.kind === 'run.ended') return 'muted';
  if (event.decision === 'allow') return 'good';
  return 'info';
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

export function summary(event: AuditEvent): string {
  const d = event.data;
  const who = event.actor?.startsWith('operator:') ? event.actor.slice('operator:'.length) : event.actor;
  switch (event.kind) {
    case 'tools/call': {
      const ms = typeof d.totalMs === 'number' ? ` in ${Math.round(d.totalMs)} ms` : '';
      if (event.decision === 'deny') return `${event.tool} refused: ${str(d.message) ?? event.code ?? ''}`;
      if (event.decision === 'hold') return `${event.tool} held for approval`;
      return `${event.tool} ran${ms}${d.isError === true ? ' (tool reported an error)' : ''}`;
    }
    case 'approval.requested':
      return `${event.tool ?? 'call'} waits for a decision${str(d.why) ? `: ${str(d.why)}` : ''}`;
    case 'approval.decided': {
      const outcome = event.code ?? 'decided';
      const reason = str(d.reason);
      if (event.actor === 'system' || event.actor?.startsWith('run:'))
        return `approval ${outcome.replace(/_/g, ' ')}`;
      return `${who} ${outcome === 'vote' ? 'voted' : outcome}${reason ? ` — “${reason}”` : ''}`;
    }
    case 'approval.executed':
      return `approved ${event.tool ?? 'call'} ${event.code === 'outcome_unknown' ? 'outcome unknown' : 'ran'}`;
    case 'run.created':
      return `run created by ${who ?? 'system'}`;
    case 'run.ended':
      return `run ${event.code ?? 'ended'}${str(d.reason) ? `: ${str(d.reason)}` : ''}`;
    case 'run.tainted':
      return `untrusted content entered from ${event.tool ?? str(d.source) ?? 'a tool'}`;
    case 'budget.alert':
      return `${str(d.dimension) ?? 'budget'} at ${typeof d.fraction === 'number' ? Math.round(d.fraction * 100) : '?'}% (${str(d.used) ?? '?'} of ${str(d.cap) ?? '?'})`;
    case 'output.flagged':
      return `${event.tool ?? 'output'} flagged: ${Array.isArray(d.flags) ? d.flags.join(', ') : 'suspicious content'}`;
    case 'tools/list':
      return `listed ${str(d.count) ?? '?'} tools`;
    case 'tool.changed': {
      // Tools, prompts, resources and templates are all pinned; the event says which.
      const what = (str(d.definition) ?? 'tool').replace('_', ' ');
      const why = event.code === 'unpinned' ? 'not pinned' : 'changed since it was pinned';
      return `${what} ${event.tool ?? ''} withheld: ${why}`;
    }
    case 'llm.request':
      return llmSummary(event);
    default:
      return [event.tool, event.code].filter(Boolean).join(' · ') || kindLabel(event.kind);
  }
}

/** An LLM request as an operator reads it: model, tokens in and out, cost; or why it was refused. */
function llmSummary(event: AuditEvent): string {
  const d = event.data;
  const model = str(d.model) ?? 'a model';
  if (event.decision === 'deny') return `${model} refused: ${event.code?.replace(/_/g, ' ') ?? 'denied'}`;
  const usage = (typeof d.usage === 'object' && d.usage !== null ? d.usage : {}) as Record<string, unknown>;
  const input = typeof usage.input_tokens === 'number' ? usage.input_tokens : undefined;
  const output = typeof usage.output_tokens === 'number' ? usage.output_tokens : undefined;
  const tokens =
    input !== undefined || output !== undefined
      ? ` · ${(input ?? 0).toLocaleString('en')} in / ${(output ?? 0).toLocaleString('en')} out tokens`
      : '';
  const usd = typeof d.usd === 'number' && d.usd > 0 ? ` · $${d.usd.toFixed(4)}` : '';
  const cut = event.code ? ` (${event.code.replace(/_/g, ' ')})` : '';
  return `${model}${tokens}${usd}${cut}`;
}
