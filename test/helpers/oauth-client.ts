/**
 * An MCP client that can only do OAuth (it never sends a custom header): the
 * SDK's own OAuth client flow — discovery from the 401, dynamic registration,
 * authorization code with PKCE — with a scripted "browser" that pastes a run
 * grant into the gateway's form.
 */

import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';

export const REDIRECT_URL = 'http://127.0.0.1:33418/callback';

export class MemoryOAuthProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;

  get redirectUrl(): string {
    return REDIRECT_URL;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'OAuth-only test client',
      redirect_uris: [REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** What a person does in the browser: open the authorization URL, paste the grant, follow the redirect. */
export async function pasteGrant(
  authorizationUrl: URL,
  grant: string,
): Promise<{ status: number; location: string | null; body: string }> {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const request = /name="request" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !request)
    throw new Error(`no grant form at the authorization URL (${page.status}): ${html.slice(0, 200)}`);
  const posted = await fetch(new URL(action, authorizationUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ request, grant }).toString(),
  });
  return { status: posted.status, location: posted.headers.get('location'), body: await posted.text() };
}

/** Connects through the full OAuth flow; returns the connected client and its provider. */
export async function connectWithGrant(
  mcpUrl: string,
  grant: string,
): Promise<{ client: Client; provider: MemoryOAuthProvider }> {
  const provider = new MemoryOAuthProvider();
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const probe = new Client({ name: 'oauth-only', version: '1.0.0' });
  await probe.connect(first).then(
    () => {
      throw new Error('connected without authorization');
    },
    (error: unknown) => {
      if (!provider.authorizationUrl) throw error;
    },
  );
  const answer = await pasteGrant(provider.authorizationUrl as URL, grant);
  if (answer.status !== 302 || !answer.location) throw new Error(`grant refused (${answer.status})`);
  const code = new URL(answer.location).searchParams.get('code');
  if (!code) throw new Error('no code in the redirect');
  await first.finishAuth(code);
  const client = new Client({ name: 'oauth-only', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  return { client, provider };
}
