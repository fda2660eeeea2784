/**
 * Refusals the proxy records and answers in the API's own error shape: a run
 * that has ended, a request that opens a side door its profile does not allow.
 */
import type { Run } from '../runs/run.js';
import type { ProxyContext } from './context.js';
import { apiError } from './errors.js';
import type { SideDoor } from './side-doors.js';

/**
 * The answer for a run that has ended. An exhausted run's refusal is a
 * billing error like any budget refusal, so the agent does not take it for
 * a failed sign-in.
 */
export function ended(run: Run): Response {
  return run.state === 'exhausted'
    ? apiError(
        402,
        'billing_error',
        `bulkhead: this run has used its budget (${run.endReason ?? 'exhausted'}).`,
      )
    : apiError(403, 'permission_error', 'bulkhead: this run has ended.');
}

/** An `llm.request` refusal in the audit trail. */
export function recordDenial(
  ctx: ProxyContext,
  run: Run,
  code: string,
  data: Record<string, unknown>,
): Promise<unknown> {
  return ctx.deps.events.write({
    kind: 'llm.request',
    runId: run.id,
    decision: 'deny',
    code,
    actor: `run:${run.id}`,
    data,
  });
}

/** The refusal for a request that opens `door`, recorded. */
export async function refuseDoor(
  ctx: ProxyContext,
  run: Run,
  door: SideDoor,
  model: string | null,
): Promise<Response> {
  await recordDenial(ctx, run, 'side_door', { field: door.field, model });
  return apiError(400, 'invalid_request_error', `bulkhead: ${door.field}: ${door.message}.`);
}
