/**
 * The operators' health report (`/api/health`): store (with a write probe that
 * never waits on a lock), push signals, upstreams (state, last error,
 * restarts), the replica lease and the audit chain verdict. The unauthenticated
 * probes (`/healthz`, `/readyz`) live in health.ts and name states only.
 */
import type { AuditCheckpoints } from '../events/checkpoints.js';
import type { ReplicaLease } from '../replicas/lease.js';
import type { Store, StoreHealth } from '../store/store.js';
import type { UpstreamPool, UpstreamStatus } from './upstream-pool.js';

export interface HealthReport {
  ok: boolean;
  /** Why not ready, one short phrase each. */
  problems: string[];
  store: StoreHealth & { kind: Store['kind']; signals: 'push' | 'polling' };
  upstreams: UpstreamStatus[];
  replica: { id: string; lastError: string | null };
  audit: { chainOk: boolean | null; findings: number };
}

export interface HealthDeps {
  store: Store;
  pool: UpstreamPool;
  lease: ReplicaLease;
  audit: AuditCheckpoints;
}

export async function healthReport(deps: HealthDeps): Promise<HealthReport> {
  const store = await deps.store.health();
  const upstreams = deps.pool.status();
  const problems: string[] = [];
  if (!store.ok) problems.push(`store: ${store.message}`);
  for (const u of upstreams) {
    if (u.state !== 'ready')
      problems.push(`upstream ${u.name} ${u.state}${u.lastError ? `: ${u.lastError}` : ''}`);
  }
  if (deps.lease.lastError) problems.push(`replica lease: ${deps.lease.lastError}`);
  const report = deps.audit.report;
  if (report && !report.ok) problems.push(`audit chain broken: ${report.findings.length} finding(s)`);
  return {
    // Ready means, as /readyz: the store takes writes and every upstream not marked
    // `required: false` is ready (an upstream without `required` may be down at start, not ready).
    ok: store.ok && upstreams.every((u) => u.state === 'ready' || u.optional),
    problems,
    store: { ...store, kind: deps.store.kind, signals: deps.store.signals.live() ? 'push' : 'polling' },
    upstreams,
    replica: { id: deps.store.replica, lastError: deps.lease.lastError },
    audit: { chainOk: report ? report.ok : null, findings: report?.findings.length ?? 0 },
  };
}
