/**
 * Errors are values with stable codes. Two families:
 * - `Denial`: the pipeline's refusal of one agent call. Its `message` is one
 *   safe sentence the agent may read; it never carries internals or secrets.
 * - `BulkheadError`: a local failure (bad policy, missing secret, store down),
 *   for operators and the CLI. Callers branch on `code`, never on text.
 */

export const DENIAL_CODES = [
  'tool_not_in_scope',
  'invalid_arguments',
  'budget_exhausted',
  'rate_limited',
  'loop_detected',
  'flow_blocked',
  'approval_denied',
  'approval_timeout',
  'approval_withdrawn',
  'approval_outcome_unknown',
  'run_not_active',
  'run_killed',
  'tool_changed',
  'upstream_unavailable',
  'upstream_error',
  'upstream_timeout',
  'result_too_large',
  'store_unavailable',
  'lease_lost',
  'internal_error',
] as const;
export type DenialCode = (typeof DENIAL_CODES)[number];

export interface Denial {
  readonly code: DenialCode;
  /** One sentence, safe for the agent: no secrets, no stack, no internal names. */
  readonly message: string;
  /** Structured, equally safe detail (e.g. the failing JSON pointer). */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

export function denial(code: DenialCode, message: string, detail?: Denial['detail']): Denial {
  return detail ? { code, message, detail } : { code, message };
}

export const ERROR_CODES = [
  'policy_invalid',
  'policy_unreadable',
  'secret_missing',
  'upstream_schema_widened',
  'upstream_start_failed',
  'store_failed',
  'store_unavailable',
  'not_found',
  'conflict',
  'forbidden',
  'unauthorized',
  'bad_request',
  'sandbox_unavailable',
  'workdir_refused',
  'gateway_unreachable',
  'restart_required',
  'inspection_failed',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class BulkheadError extends Error {
  override readonly name = 'BulkheadError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isBulkheadError(error: unknown, code?: ErrorCode): error is BulkheadError {
  return error instanceof BulkheadError && (code === undefined || error.code === code);
}
