/**
 * Errors in the Messages API's own shape (`{type: 'error', error: {type,
 * message}}`), so SDKs surface bulkhead's refusals like the API's. Budget
 * refusals are `402 billing_error`: an agent reads a 403 `permission_error`
 * as a failed sign-in (Claude Code prints "Failed to authenticate"), and no
 * SDK retries a 402.
 */
export type ApiErrorType =
  | 'authentication_error'
  | 'permission_error'
  | 'billing_error'
  | 'invalid_request_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'api_error';

export function apiError(status: number, type: ApiErrorType, message: string): Response {
  return new Response(JSON.stringify({ type: 'error', error: { type, message } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
