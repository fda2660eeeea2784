/**
 * The page's only way to the server: same-origin fetches to the operator API
 * carrying the session cookie, and on every state change the session's CSRF
 * token. A 401 anywhere means the session is gone, and the app shows sign-in.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
}

export function createApi(options: { csrf: () => string | undefined; onSignedOut: () => void }): ApiClient {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const csrf = options.csrf();
    if (method !== 'GET' && csrf) headers['x-bulkhead-csrf'] = csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch {
      // No answer at all: say plainly that an action did not happen, so nobody assumes it did.
      throw new ApiError(
        0,
        'unreachable',
        method === 'GET'
          ? 'The gateway could not be reached; what is shown may be out of date.'
          : 'The gateway could not be reached, so nothing was changed: no approval, denial or kill was recorded. Try again when it is back.',
      );
    }
    const payload = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
    if (!response.ok) {
      if (response.status === 401) options.onSignedOut();
      throw new ApiError(
        response.status,
        payload.error ?? 'http_error',
        payload.message ?? `The gateway answered ${response.status}.`,
      );
    }
    return payload as T;
  };
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
    del: (path) => call('DELETE', path),
  };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : 'Something went wrong.';
}
