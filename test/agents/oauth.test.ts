/**
 * MCP clients that cannot set a header connect through the MCP authorization
 * spec's OAuth flow, redeeming a one-time run grant. Attacked as a stolen or
 * replayed credential would be: a grant, a code and a refresh token each work
 * once; a code needs its PKCE verifier; nothing outlives the run; nothing
 * opens more than the run's own token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denialCode, echoPolicy, startTestGateway, type TestGateway, text } from '../helpers/harness.js';
import { connectWithGrant, MemoryOAuthProvider, pasteGrant, REDIRECT_URL } from '../helpers/oauth-client.js';

const POLICY = echoPolicy();

let gw: TestGateway;
const mcpUrl = () => `${gw.gateway.url}/mcp`;

beforeAll(async () => {
  gw = await startTestGateway(POLICY);
});
afterAll(async () => {
  await gw?.close();
});

async function newRunGrant(): Promise<{ runId: string; grant: string }> {
  const { run } = await gw.gateway.runs.create('agent');
  const { grant } = await gw.gateway.runs.mintGrant(run.id);
  return { runId: run.id, grant };
}

async function register(): Promise<string> {
  const response = await fetch(`${gw.gateway.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(new MemoryOAuthProvider().clientMetadata),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { client_id: string }).client_id;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(clientId: string, challenge: string, redirect = REDIRECT_URL): URL {
  const url = new URL(`${gw.gateway.url}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirect,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st-1',
  }).toString();
  return url;
}

async function token(
  body: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${gw.gateway.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Registration, a pasted grant and the code it yields, ready for the token endpoint. */
async function codeFor(grant: string): Promise<{ clientId: string; code: string; verifier: string }> {
  const clientId = await register();
  const { verifier, challenge } = pkce();
  const answer = await pasteGrant(authorizeUrl(clientId, challenge), grant);
  expect(answer.status).toBe(302);
  const location = new URL(answer.location ?? '');
  expect(location.searchParams.get('state')).toBe('st-1');
  return { clientId, code: location.searchParams.get('code') ?? '', verifier };
}

describe('discovery', () => {
  it('answers a request without a token with 401 naming the protected-resource metadata', async () => {
    const response = await fetch(mcpUrl(), { method: 'POST', body: '{}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain(
      `resource_metadata="${gw.gateway.url}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('publishes the resource and its authorization server, path-specific and at the root', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const doc = (await (await fetch(`${gw.gateway.url}${path}`)).json()) as Record<string, unknown>;
      expect(doc.resource).toBe(mcpUrl());
      expect(doc.authorization_servers).toEqual([`${gw.gateway.url}/`]);
    }
    const as = (await (
      await fetch(`${gw.gateway.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.registration_endpoint).toBe(`${gw.gateway.url}/register`);
  });
});

describe('an OAuth-only client', () => {
  it('connects with a run grant and calls a tool of its run', async () => {
    const { runId, grant } = await newRunGrant();
    const { client, provider } = await connectWithGrant(mcpUrl(), grant);
    expect(provider.saved?.access_token).toMatch(/^bha_/);
    const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'hello' } });
    expect(text(result)).toContain('hello');
    const events = await gw.gateway.store.events.list({ runId });
    expect(events.some((e) => e.kind === 'tools/call' && e.tool === 'everything__echo')).toBe(true);
    await client.close();
  });

  it('is told the run ended, like a run-token client, and cannot refresh afterwards', async () => {
    const { runId, grant } = await newRunGrant();
    const { client, provider } = await connectWithGrant(mcpUrl(), grant);
    await gw.gateway.runs.end(runId, 'killed', 'test');
    const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'after kill' } });
    expect(denialCode(result)).toBe('run_not_active');
    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: provider.saved?.refresh_token ?? '',
      client_id: String(provider.info?.client_id),
    });
    expect(refreshed.status).toBe(400);
    expect(refreshed.json.error).toBe('invalid_grant');
    await client.close();
  });
});

describe('credentials work once', () => {
  it('refuses a grant pasted a second time', async () => {
    const { grant } = await newRunGrant();
    await codeFor(grant);
    const clientId = await register();
    const again = await pasteGrant(authorizeUrl(clientId, pkce().challenge), grant);
    expect(again.status).toBe(400);
    expect(again.location).toBeNull();
    expect(again.body).toContain('not valid');
  });

  it('refuses a grant of a run that has ended', async () => {
    const { runId, grant } = await newRunGrant();
    await gw.gateway.runs.end(runId, 'completed', 'done');
    const clientId = await register();
    const answer = await pasteGrant(authorizeUrl(clientId, pkce().challenge), grant);
    expect(answer.status).toBe(400);
  });

  it('refuses a code without the PKCE verifier it was issued for', async () => {
    const { grant } = await newRunGrant();
    const { clientId, code } = await codeFor(grant);
    const stolen = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: pkce().verifier,
      client_id: clientId,
      redirect_uri: REDIRECT_URL,
    });
    expect(stolen.status).toBe(400);
    expect(stolen.json.error).toBe('invalid_grant');
  });

  it('refuses a code replayed after its first exchange', async () => {
    const { grant } = await newRunGrant();
    const { clientId, code, verifier } = await codeFor(grant);
    const body = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: REDIRECT_URL,
    };
    const first = await token(body);
    expect(first.status).toBe(200);
    const replay = await token(body);
    expect(replay.status).toBe(400);
  });

  it('refuses a code presented by another registered client', async () => {
    const { grant } = await newRunGrant();
    const { code, verifier } = await codeFor(grant);
    const other = await register();
    const answer = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: other,
      redirect_uri: REDIRECT_URL,
    });
    expect(answer.status).toBe(400);
  });

  it('rotates refresh tokens: an old one is refused after use', async () => {
    const { grant } = await newRunGrant();
    const { clientId, code, verifier } = await codeFor(grant);
    const issued = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: REDIRECT_URL,
    });
    const refresh = String(issued.json.refresh_token);
    expect(
      (await token({ grant_type: 'refresh_token', refresh_token: refresh, client_id: clientId })).status,
    ).toBe(200);
    expect(
      (await token({ grant_type: 'refresh_token', refresh_token: refresh, client_id: clientId })).status,
    ).toBe(400);
  });
});

describe('what the authorization server refuses to do', () => {
  it('sends no code to a redirect URI the client did not register', async () => {
    const clientId = await register();
    const response = await fetch(authorizeUrl(clientId, pkce().challenge, 'https://evil.test/callback'), {
      redirect: 'manual',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain('name="request"');
  });

  it('escapes a client name chosen to inject markup into the grant page', async () => {
    const response = await fetch(`${gw.gateway.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...new MemoryOAuthProvider().clientMetadata,
        client_name: '<script>alert(1)</script>',
      }),
    });
    const { client_id } = (await response.json()) as { client_id: string };
    const page = await fetch(authorizeUrl(client_id, pkce().challenge));
    const html = await page.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('does not accept a forged access token, nor a run token as an OAuth refresh token', async () => {
    const forged = `bha_${randomBytes(32).toString('base64url')}`;
    const response = await fetch(mcpUrl(), {
      method: 'POST',
      headers: { authorization: `Bearer ${forged}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(401);
    const { token: runToken } = await gw.gateway.runs.create('agent');
    const clientId = await register();
    expect(
      (await token({ grant_type: 'refresh_token', refresh_token: runToken, client_id: clientId })).status,
    ).toBe(400);
  });

  it('never writes a grant, code or access token to the log or the audit trail', async () => {
    const { runId, grant } = await newRunGrant();
    const { client, provider } = await connectWithGrant(mcpUrl(), grant);
    await client.callTool({
      name: 'everything__echo',
      arguments: { message: `leak ${provider.saved?.access_token} ${grant}` },
    });
    await client.close();
    const events = JSON.stringify(await gw.gateway.store.events.list({ runId }));
    for (const secret of [grant, provider.saved?.access_token ?? 'x', provider.saved?.refresh_token ?? 'x']) {
      expect(events).not.toContain(secret);
      expect(gw.readLog()).not.toContain(secret);
    }
  });
});
