/**
 * Mounts the OAuth side of the gateway on its Hono app: protected-resource
 * metadata for `/mcp` (RFC 9728), the authorization server (the SDK's express
 * handlers: metadata, dynamic registration, authorize, token, revoke) and the
 * grant form's target.
 *
 * The SDK ships these handlers for express only; they run on the raw Node
 * request, which Hono's Node server hands over untouched, so no protocol code
 * is written here. The issuer must be https, or a loopback address: a
 * gateway reachable over plain http elsewhere offers no OAuth (the run token
 * in a header still works), since codes and tokens would cross the network
 * in clear.
 */
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import express from 'express';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../../log.js';
import type { CredentialStore } from '../../runs/credentials.js';
import type { RunService } from '../../runs/service.js';
import { grantPageHtml, PAGE_HEADERS } from './grant-page.js';
import { RunGrantProvider } from './provider.js';

export const GRANT_PATH = '/oauth/grant';
const AUTH_PATHS = [
  '/authorize',
  '/token',
  '/register',
  '/revoke',
  '/.well-known/oauth-authorization-server',
];

export interface OAuthDeps {
  credentials: CredentialStore;
  runs: RunService;
  now: () => number;
  logger: Logger;
  /** The gateway's public base URL (no trailing slash), known once it listens. */
  baseUrl: () => string;
}

export interface OAuthMount {
  /** The `WWW-Authenticate` challenge a 401 from `/mcp` carries. */
  challenge(): string;
}

export function mountOAuth(app: Hono, deps: OAuthDeps): OAuthMount {
  const provider = new RunGrantProvider({ ...deps, grantPath: GRANT_PATH });
  let handler: express.Express | null | undefined;
  // Built on first use: the issuer is the URL the gateway listens on, known only after listen.
  const authApp = (): express.Express | null => {
    if (handler !== undefined) return handler;
    try {
      const base = new URL(deps.baseUrl());
      const built = express();
      built.disable('x-powered-by');
      built.use(
        mcpAuthRouter({
          provider,
          issuerUrl: base,
          resourceServerUrl: new URL('/mcp', base),
          resourceName: 'bulkhead gateway',
        }),
      );
      handler = built;
    } catch (error) {
      deps.logger.warn({ err: error }, 'OAuth is off: the public URL must be https or a loopback address');
      handler = null;
    }
    return handler;
  };
  const toExpress = (c: Context) => {
    const target = authApp();
    const bindings = c.env as Partial<HttpBindings> | undefined;
    if (!target || !bindings?.incoming || !bindings.outgoing)
      return c.json({ error: 'not_found', message: 'OAuth is not offered by this gateway.' }, 404);
    target(bindings.incoming, bindings.outgoing);
    return RESPONSE_ALREADY_SENT;
  };
  for (const path of AUTH_PATHS) app.all(path, toExpress);
  app.all('/.well-known/oauth-protected-resource/mcp', toExpress);
  // Some clients look at the root document first (RFC 9728 allows both).
  app.get('/.well-known/oauth-protected-resource', (c) => {
    if (!authApp())
      return c.json({ error: 'not_found', message: 'OAuth is not offered by this gateway.' }, 404);
    const base = deps.baseUrl();
    return c.json({
      resource: `${base}/mcp`,
      authorization_servers: [`${base}/`],
      resource_name: 'bulkhead gateway',
    });
  });

  app.post(
    GRANT_PATH,
    bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('Too large.', 413) }),
    async (c) => {
      const form = await c.req.parseBody();
      const requestId = typeof form.request === 'string' ? form.request : '';
      const grant = typeof form.grant === 'string' ? form.grant : '';
      const outcome = await provider.redeemGrant(requestId, grant);
      if (outcome.ok) return c.redirect(outcome.redirect, 302);
      const error =
        outcome.code === 'invalid_grant'
          ? 'That grant is not valid: it may be used already, expired, or belong to an ended run.'
          : 'This authorization request expired. Start the connection again from the client.';
      return c.html(
        grantPageHtml({ action: GRANT_PATH, requestId, clientName: 'The client', error }),
        400,
        PAGE_HEADERS,
      );
    },
  );

  return {
    challenge() {
      const base = authApp() ? deps.baseUrl() : '';
      return base
        ? `Bearer realm="bulkhead", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`
        : 'Bearer realm="bulkhead"';
    },
  };
}
