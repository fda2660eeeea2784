/**
 * Sign-in, session check and sign-out for the dashboard (`/ui/session`).
 *
 * Only an operator token signs in: `OperatorAuth` knows operator tokens and
 * nothing else, so a run token (what an agent holds) is refused like any
 * unknown string. Sign-in itself is guarded against login CSRF (a foreign page
 * signing the victim into the attacker's session) by refusing foreign origins
 * and accepting JSON bodies only, which a cross-origin form cannot send.
 */
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { OperatorAuth } from '../gateway/operators.js';
import type { Responder } from '../gateway/respond.js';
import {
  clearedSessionCookie,
  isSecure,
  requireSession,
  sameOrigin,
  sessionCookie,
  sessionId,
} from './session-auth.js';
import type { Session, Sessions } from './sessions.js';

export interface SessionRouteDeps {
  operators: OperatorAuth;
  sessions: Sessions;
  respond: Responder;
}

const signInBody = z.object({ token: z.string().min(1).max(512) }).strict();

export function sessionRoutes(deps: SessionRouteDeps): Hono {
  const { respond, sessions } = deps;
  const app = new Hono();
  app.onError((error, c) => respond.fail(c, error));

  app.post(
    '/',
    bodyLimit({
      maxSize: 4096,
      onError: (c) => respond.error(c, { code: 'bad_request', message: 'The body is too large.' }),
    }),
    async (c) => {
      if (!sameOrigin(c.req.raw)) {
        return respond.error(c, { code: 'forbidden', message: 'Cross-origin sign-in is refused.' });
      }
      if (!c.req.header('content-type')?.toLowerCase().startsWith('application/json')) {
        return respond.error(c, { code: 'bad_request', message: 'Sign in with a JSON body.' });
      }
      const parsed = signInBody.safeParse(await c.req.json().catch(() => undefined));
      const operator = parsed.success ? deps.operators.authenticate(parsed.data.token) : undefined;
      if (!operator) {
        return respond.error(c, { code: 'unauthorized', message: 'That is not an operator token.' });
      }
      // A fresh id on every sign-in: an id planted before sign-in (session fixation) is never promoted.
      await sessions.end(sessionId(c.req.raw));
      const { id, session } = await sessions.create(operator);
      c.header('set-cookie', sessionCookie(id, sessions.maxAgeMs, isSecure(c.req.raw)));
      return sessionBody(c, session, 201);
    },
  );

  app.get('/', (c) => {
    const session = requireSession(sessions, c.req.raw);
    if (!session) return respond.error(c, { code: 'unauthorized', message: 'Not signed in.' });
    return sessionBody(c, session, 200);
  });

  app.delete('/', async (c) => {
    // Sign-out changes state too: a foreign page must not be able to sign the operator out.
    const session = requireSession(sessions, c.req.raw);
    await sessions.end(sessionId(c.req.raw));
    c.header('set-cookie', clearedSessionCookie(isSecure(c.req.raw)));
    return respond.json(c, { signed_out: session !== undefined });
  });

  return app;
}

/**
 * Built without the scrubber on purpose: the CSRF token is random and would be
 * redacted as a high-entropy string. Nothing else in it is secret.
 */
function sessionBody(c: Context, session: Session, status: 200 | 201): Response {
  c.header('cache-control', 'no-store');
  return c.json(
    {
      operator: { name: session.operator.name, roles: [...session.operator.roles] },
      csrf: session.csrf,
      expires_at: session.expiresAt,
    },
    status,
  );
}
