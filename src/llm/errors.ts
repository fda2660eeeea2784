/**
 * Errors in a shape every API's clients read as their own: the Messages
 * API's (`{type: 'error', error: {type, message}}`) with the OpenAI APIs'
 * `error.code` and `error.param` too (Chat Completions and the Responses API
 * put `{error: {message, type, param, code}}`), so SDKs and Codex surface
 * bulkhead's refusals like the API's. Budget
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
  | 'rate_limit_error'
  | 'api_error';

export function apiError(status: number, type: ApiErrorType, message: string): Response {
  return new Response(JSON.stringify({ type: 'error', error: { type, message, code: type, param: null } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
