/**
 * PostgreSQL down, restarting or unreachable is `store_unavailable`, like a
 * locked SQLite store: callers fail closed with that code (a denial the agent
 * can read, 503 at the API) instead of a raw driver error that names the
 * database host and port, or an `internal_error`. Other errors (a constraint,
 * a bug) pass unchanged.
 */
import { BulkheadError } from '../../errors.js';

/** Socket errors, and SQLSTATE classes 08 (connection exception) and 57P (operator intervention). */
export function isUnreachable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code))
    return true;
  if (code.startsWith('08') || code.startsWith('57P')) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
}

function unavailable(error: unknown): BulkheadError {
  return new BulkheadError('store_unavailable', 'the PostgreSQL store is unreachable', { cause: error });
}

/** Wraps every method of a store area so an unreachable server rejects with `store_unavailable`. */
export function reachable<T extends object>(area: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(area)) {
    wrapped[key] =
      typeof value === 'function'
        ? async (...args: unknown[]) => {
            try {
              return await (value as (...a: unknown[]) => unknown).apply(area, args);
            } catch (error) {
              throw isUnreachable(error) ? unavailable(error) : error;
            }
          }
        : value;
  }
  return wrapped as T;
}
