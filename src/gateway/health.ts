/**
 * Health endpoints for load balancers and Kubernetes probes, unauthenticated:
 *
 * - `/healthz` (liveness): the process is alive and its event loop answers.
 *   It touches nothing else, so a slow store never gets a live gateway
 *   restarted by its orchestrator.
 * - `/readyz` (readiness): the store answers a read within a deadline and
 *   every upstream marked `required` (the default) is ready. A gateway that is
 *   not ready answers 503 and says which check failed, by name and state only:
 *   no error text, which could carry internals, leaves an unauthenticated route.
 */
import { Hono } from 'hono';
import type { Store } from '../store/store.js';
import type { UpstreamState } from './upstream-pool.js';

export interface HealthDeps {
  store: Store;
  /** Current upstreams with their state and whether readiness waits for them. */
  upstreams: () => readonly { name: string; state: UpstreamState; required: boolean }[];
  /** How long the store may take to answer before the gateway counts as not ready. */
  storeTimeoutMs?: number;
  /** False while the gateway is shutting down: stop sending it traffic. */
  accepting?: () => boolean;
}

export type Check = { name: string; ok: boolean; detail: string };

export function createHealth(deps: HealthDeps): Hono {
  const app = new Hono();
  const noStore = { 'cache-control': 'no-store' };
  app.get('/healthz', (c) => c.json({ status: 'ok' }, 200, noStore));
  app.get('/readyz', async (c) => {
    const checks = await readiness(deps);
    const ready = checks.every((check) => check.ok);
    return c.json({ status: ready ? 'ready' : 'not_ready', checks }, ready ? 200 : 503, noStore);
  });
  return app;
}

export async function readiness(deps: HealthDeps): Promise<Check[]> {
  const checks: Check[] = [];
  if (deps.accepting && !deps.accepting()) checks.push({ name: 'gateway', ok: false, detail: 'stopping' });
  checks.push(await storeCheck(deps.store, deps.storeTimeoutMs ?? 2_000));
  for (const up of deps.upstreams()) {
    if (!up.required) continue;
    checks.push({ name: `upstream:${up.name}`, ok: up.state === 'ready', detail: up.state });
  }
  return checks;
}

async function storeCheck(store: Store, timeoutMs: number): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    // A write probe that never waits on a lock (store.health): a SQLite file locked by another
    // process reads fine but takes no write, and every call needs one.
    const probe = store.health();
    const outcome = await Promise.race([probe, deadline]);
    if (outcome === 'timeout')
      return { name: 'store', ok: false, detail: `no answer within ${timeoutMs} ms` };
    return outcome.ok
      ? { name: 'store', ok: true, detail: store.kind }
      : { name: 'store', ok: false, detail: outcome.code === 'store_locked' ? 'locked' : 'unreachable' };
  } catch {
    return { name: 'store', ok: false, detail: 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}
