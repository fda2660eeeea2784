/**
 * The operator dashboard, mounted by the gateway at `/ui`. It serves one page,
 * its built assets and the session endpoints; all data comes from the same
 * operator API (`/api/*`) the CLI uses, which accepts the session cookie (see
 * session-auth.ts). The dashboard holds no route logic of its own.
 */
import { type Context, Hono } from 'hono';
import type { OperatorAuth } from '../gateway/operators.js';
import type { Responder } from '../gateway/respond.js';
import { DashboardAssets } from './assets.js';
import { securityHeaders } from './security-headers.js';
import { sessionRoutes } from './session-routes.js';
import type { Sessions } from './sessions.js';
import { shellHtml } from './shell.js';

export interface DashboardDeps {
  operators: OperatorAuth;
  sessions: Sessions;
  respond: Responder;
  /** Built assets; `dist-ui/` at the package root by default. */
  assets?: DashboardAssets;
  /** Where the dashboard is mounted, for asset URLs. */
  base?: string;
}

export function createDashboard(deps: DashboardDeps): Hono {
  const base = deps.base ?? '/ui';
  const assets = deps.assets ?? new DashboardAssets();
  assets.warm();
  const app = new Hono();
  app.use('*', securityHeaders);
  app.onError((error, c) => deps.respond.fail(c, error));
  app.route('/session', sessionRoutes(deps));

  app.get('/assets/:name', async (c) => {
    const asset = (await assets.load()).files.get(c.req.param('name'));
    if (!asset) return deps.respond.error(c, { code: 'not_found', message: 'No such asset.' });
    // Names carry a content hash, so a cached copy can never be stale.
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': asset.type,
      'cache-control': 'public, max-age=31536000, immutable',
    });
  });

  // Every other path is a page of the single-page app (`/ui/runs/ID`, `/ui/approvals/ID`, ...),
  // so links the gateway sends out (approval notifications) open directly.
  app.get('*', async (c: Context) => {
    let html: string;
    try {
      html = shellHtml((await assets.load()).manifest, base);
    } catch {
      return c.text('The dashboard assets could not be built. Run `npm run build:ui`.', 503);
    }
    c.header('cache-control', 'no-store');
    return c.html(html);
  });
  return app;
}
