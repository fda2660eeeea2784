/**
 * Dashboard sessions over plain HTTP: cookie flags, who may sign in, CSRF and
 * origin checks on every state change, sign-out, and the live stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/harness.js';
import { ADMIN_TOKEN, startDashboardGateway, VIEWER_TOKEN } from './fixture.js';

let gw: TestGateway;
let url: string;

beforeAll(async () => {
  gw = await startDashboardGateway();
  url = gw.gateway.url;
});
afterAll(async () => {
  await gw?.close();
});

async function signIn(token: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/ui/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ token }),
  });
  const body = (await response.json()) as { csrf?: string; operator?: { name: string }; error?: string };
  const setCookie = response.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  return { status: response.status, body, setCookie, cookie };
}

describe('dashboard sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie on Path=/, Secure only over TLS', async () => {
    const plain = await signIn(ADMIN_TOKEN);
    expect(plain.status).toBe(201);
    expect(plain.body.operator?.name).toBe('alice');
    expect(plain.setCookie).toMatch(/^bulkhead_session=[A-Za-z0-9_-]{40,};/);
    expect(plain.setCookie).toMatch(/; HttpOnly/);
    expect(plain.setCookie).toMatch(/; SameSite=Strict/);
    expect(plain.setCookie).toMatch(/; Path=\//);
    expect(plain.setCookie).toMatch(/; Max-Age=\d+/);
    expect(plain.setCookie).not.toMatch(/Secure/);
    // The token itself never comes back.
    expect(JSON.stringify(plain.body)).not.toContain(ADMIN_TOKEN);

    const tls = await signIn(ADMIN_TOKEN, { 'x-forwarded-proto': 'https' });
    expect(tls.setCookie).toMatch(/; Secure/);
  });

  it('refuses a run token, an unknown token and the wrong body', async () => {
    const agent = await gw.agent('support-agent');
    const run = await signIn(agent.token);
    expect(run.status).toBe(401);
    expect(run.setCookie).toBe('');
    expect((await signIn('bho_not-a-real-token')).status).toBe(401);
    const form = await fetch(`${url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${ADMIN_TOKEN}`,
    });
    expect(form.status).toBe(400);
    expect(form.headers.get('set-cookie')).toBeNull();
  });

  it('refuses sign-in from another origin (login CSRF)', async () => {
    const foreign = await signIn(ADMIN_TOKEN, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.setCookie).toBe('');
    const crossSite = await signIn(ADMIN_TOKEN, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
  });
});

describe('the API with a session cookie', () => {
  it('reads with the cookie alone', async () => {
    const { cookie } = await signIn(VIEWER_TOKEN);
    const response = await fetch(`${url}/api/runs`, { headers: { cookie } });
    expect(response.status).toBe(200);
    expect(await fetch(`${url}/api/runs`).then((r) => r.status)).toBe(401);
  });

  it('refuses a state change without the CSRF token, with a wrong one, or from another origin', async () => {
    const agent = await gw.agent('support-agent');
    const { cookie, body } = await signIn(ADMIN_TOKEN);
    const kill = (headers: Record<string, string>) =>
      fetch(`${url}/api/runs/${agent.runId}/kill`, { method: 'POST', headers: { cookie, ...headers } });

    const missing = await kill({});
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: string }).error).toBe('forbidden');
    expect((await kill({ 'x-bulkhead-csrf': 'wrong' })).status).toBe(403);
    expect((await kill({ 'x-bulkhead-csrf': body.csrf ?? '', origin: 'https://evil.example' })).status).toBe(
      403,
    );
    expect((await gw.gateway.runs.get(agent.runId))?.state).toBe('active');

    // Another session's token is not this session's token.
    const other = await signIn(ADMIN_TOKEN);
    expect((await kill({ 'x-bulkhead-csrf': other.body.csrf ?? '' })).status).toBe(403);

    const ok = await kill({ 'x-bulkhead-csrf': body.csrf ?? '', origin: url });
    expect(ok.status).toBe(200);
    expect((await gw.gateway.runs.get(agent.runId))?.state).toBe('killed');
  });

  it('still checks roles: a viewer session cannot kill', async () => {
    const agent = await gw.agent('support-agent');
    const { cookie, body } = await signIn(VIEWER_TOKEN);
    const response = await fetch(`${url}/api/runs/${agent.runId}/kill`, {
      method: 'POST',
      headers: { cookie, 'x-bulkhead-csrf': body.csrf ?? '' },
    });
    expect(response.status).toBe(403);
  });

  it('signs out (with CSRF) and the cookie stops working', async () => {
    const { cookie, body } = await signIn(ADMIN_TOKEN);
    const forged = await fetch(`${url}/ui/session`, { method: 'DELETE', headers: { cookie } });
    expect(forged.status).toBe(403);
    expect((await fetch(`${url}/api/runs`, { headers: { cookie } })).status).toBe(200);

    const out = await fetch(`${url}/ui/session`, {
      method: 'DELETE',
      headers: { cookie, 'x-bulkhead-csrf': body.csrf ?? '' },
    });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/bulkhead_session=; Max-Age=0/);
    expect((await fetch(`${url}/api/runs`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${url}/ui/session`, { headers: { cookie } })).status).toBe(401);
  });
});

describe('the page itself', () => {
  it('serves one data-free shell with a strict CSP, and hashed assets', async () => {
    const response = await fetch(`${url}/ui/runs/anything`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await response.text();
    const script = /src="(\/ui\/assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${url}/ui/assets/..%2Fmanifest.json`)).status).toBe(404);
    expect((await fetch(`${url}/ui/assets/manifest.json`)).status).toBe(404);
  });
});

describe('GET /api/stream', () => {
  it('streams scrubbed events to a signed-in session and resumes after Last-Event-ID', async () => {
    const { cookie } = await signIn(VIEWER_TOKEN);
    const agent = await gw.agent('support-agent');
    const controller = new AbortController();
    const response = await fetch(`${url}/api/stream?run=${agent.runId}`, {
      headers: { cookie },
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const call = agent.client.callTool({ name: 'orders__list_orders', arguments: { limit: 1 } });
    while (!text.includes('"tools/call"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await call;
    controller.abort();
    expect(text).toContain('event: hello');
    expect(text).toMatch(/event: audit\ndata: \{.*\}\nid: \d+\n/);
    const firstId = Number(/id: (\d+)/.exec(text)?.[1]);

    // Reconnect from before the call: the missed events are replayed.
    const again = new AbortController();
    const resumed = await fetch(`${url}/api/stream?run=${agent.runId}`, {
      headers: { cookie, 'last-event-id': String(firstId - 1) },
      signal: again.signal,
    });
    const r2 = resumed.body!.getReader();
    let text2 = '';
    while (!text2.includes(`id: ${firstId}\n`)) {
      const { value, done } = await r2.read();
      if (done) break;
      text2 += decoder.decode(value);
    }
    again.abort();
    expect(text2).toContain(`id: ${firstId}\n`);
  });

  it('needs an operator credential', async () => {
    expect((await fetch(`${url}/api/stream`)).status).toBe(401);
    const agent = await gw.agent('support-agent');
    const asRun = await fetch(`${url}/api/stream`, { headers: { authorization: `Bearer ${agent.token}` } });
    expect(asRun.status).toBe(401);
  });
});
