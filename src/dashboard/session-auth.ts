/**
 * How a request proves it comes from a signed-in dashboard: the session
 * cookie, and for anything that changes state also the session's CSRF token
 * in a header and no foreign origin.
 *
 * Why both checks on state changes: SameSite=Strict already keeps the cookie
 * off cross-site requests in current browsers, but not on same-site ones
 * (a sibling subdomain) nor in every browser; the CSRF header is something a
 * cross-origin page cannot read or forge, and the Origin check refuses the
 * request before any token comparison when the browser tells us it is foreign.
 */
import { parse, serialize } from 'hono/utils/cookie';
import { BulkheadError } from '../errors.js';
import type { Operator } from '../gateway/operators.js';
import { csrfMatches, type Session, type Sessions } from './sessions.js';

export const SESSION_COOKIE = 'bulkhead_session';
export const CSRF_HEADER = 'x-bulkhead-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function sessionId(request: Request): string | undefined {
  const header = request.headers.get('cookie');
  if (!header) return undefined;
  return parse(header, SESSION_COOKIE)[SESSION_COOKIE];
}

/** Served over TLS, directly or behind a proxy that says so. */
export function isSecure(request: Request): boolean {
  if (new URL(request.url).protocol === 'https:') return true;
  return request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

export function sessionCookie(id: string, maxAgeMs: number, secure: boolean): string {
  return serialize(SESSION_COOKIE, id, {
    path: '/',
    httpOnly: true,
    sameSite: 'Strict',
    secure,
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

export function clearedSessionCookie(secure: boolean): string {
  return serialize(SESSION_COOKIE, '', { path: '/', httpOnly: true, sameSite: 'Strict', secure, maxAge: 0 });
}

/**
 * False when the browser says the request comes from another site. A request
 * without Origin or Sec-Fetch-Site (curl, the CLI) is not a browser being
 * steered, so it passes this check; it still needs the CSRF token.
 */
export function sameOrigin(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.get('origin');
  if (!origin) return true;
  if (origin === 'null') return false;
  const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host');
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * The session behind a request, enforcing CSRF and origin on unsafe methods.
 * Throws `forbidden` (not `unauthorized`) when the session is fine but the
 * request is not, so the page can tell a forged request from an expired one.
 */
export function requireSession(sessions: Sessions, request: Request): Session | undefined {
  const session = sessions.get(sessionId(request));
  if (!session) return undefined;
  if (!SAFE_METHODS.has(request.method.toUpperCase())) {
    if (!sameOrigin(request)) throw new BulkheadError('forbidden', 'Cross-origin requests are refused.');
    if (!csrfMatches(session, request.headers.get(CSRF_HEADER) ?? undefined)) {
      throw new BulkheadError('forbidden', 'The CSRF token is missing or wrong.');
    }
  }
  return session;
}

/** For the operator API: a signed-in dashboard is an operator like a bearer token is. */
export function sessionOperator(sessions: Sessions): (request: Request) => Operator | undefined {
  return (request) => requireSession(sessions, request)?.operator;
}
