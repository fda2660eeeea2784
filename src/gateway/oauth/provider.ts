/**
 * The gateway's OAuth authorization server, for MCP clients that cannot set a
 * header (the MCP authorization spec's flow: discovery, dynamic client
 * registration, authorization code with PKCE, refresh).
 *
 * There are no user accounts: what a person proves at /authorize is that they
 * hold a run grant, a one-time secret printed by `bulkhead run --detach`. The
 * grant is consumed there and becomes an authorization code, then short-lived
 * access tokens bound to that run and client. An access token opens exactly
 * what the run token opens, never more, and stops working when the run ends.
 *
 * The SDK's handlers do the protocol (parameter checks, PKCE verification,
 * client authentication, error shapes); this provider only decides and
 * stores. Everything lives in the store, so any replica can take the next step.
 */
import type { OAuthRegisteredClientsStore } from '@modelcontextprotocol/sdk/server/auth/clients.js';
import { InvalidGrantError, InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type {
  AuthorizationParams,
  OAuthServerProvider,
} from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type {
  OAuthClientInformationFull,
  OAuthTokenRevocationRequest,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CredentialStore } from '../../runs/credentials.js';
import type { RunService } from '../../runs/service.js';
import {
  ACCESS_TOKEN_PREFIX,
  CODE_PREFIX,
  hashToken,
  mintToken,
  REFRESH_TOKEN_PREFIX,
  REQUEST_PREFIX,
} from '../../runs/tokens.js';
import { grantPage, type PageResponse } from './grant-page.js';

export const ACCESS_TOKEN_TTL_MS = 60 * 60_000;
export const CODE_TTL_MS = 60_000;
export const REQUEST_TTL_MS = 10 * 60_000;
export const CLIENT_TTL_MS = 30 * 24 * 60 * 60_000;

export interface RunGrantProviderDeps {
  credentials: CredentialStore;
  runs: RunService;
  now: () => number;
  /** Where the grant form posts to. */
  grantPath: string;
}

export class RunGrantProvider implements OAuthServerProvider {
  readonly clientsStore: OAuthRegisteredClientsStore;

  constructor(private readonly deps: RunGrantProviderDeps) {
    const { credentials, now } = deps;
    this.clientsStore = {
      async getClient(clientId) {
        const found = await credentials.find(clientId, 'client', now());
        return found ? (JSON.parse(found.data.info ?? 'null') as OAuthClientInformationFull) : undefined;
      },
      async registerClient(client) {
        // Registration is open (the spec's dynamic registration); a client is worth nothing without a grant.
        const info = client as OAuthClientInformationFull;
        await credentials.put({
          key: info.client_id,
          kind: 'client',
          runId: null,
          clientId: info.client_id,
          expiresAt: now() + CLIENT_TTL_MS,
          data: { info: JSON.stringify(info) },
        });
        return info;
      },
    };
  }

  /** Shows the grant form; the authorization request waits in the store under an opaque id. */
  async authorize(
    client: OAuthClientInformationFull,
    params: AuthorizationParams,
    res: PageResponse,
  ): Promise<void> {
    const requestId = mintToken(REQUEST_PREFIX);
    await this.deps.credentials.put({
      key: hashToken(requestId),
      kind: 'request',
      runId: null,
      clientId: client.client_id,
      expiresAt: this.deps.now() + REQUEST_TTL_MS,
      data: {
        redirectUri: params.redirectUri,
        codeChallenge: params.codeChallenge,
        ...(params.state !== undefined ? { state: params.state } : {}),
        ...(params.resource ? { resource: params.resource.href } : {}),
      },
    });
    grantPage(res, {
      action: this.deps.grantPath,
      requestId,
      clientName: client.client_name ?? client.client_id,
    });
  }

  async challengeForAuthorizationCode(client: OAuthClientInformationFull, code: string): Promise<string> {
    const found = await this.deps.credentials.find(hashToken(code), 'code', this.deps.now());
    if (!found || found.clientId !== client.client_id) throw new InvalidGrantError('unknown or expired code');
    return found.data.codeChallenge ?? '';
  }

  async exchangeAuthorizationCode(
    client: OAuthClientInformationFull,
    code: string,
    _verifier?: string,
    redirectUri?: string,
  ): Promise<OAuthTokens> {
    // Consumed first: a code replayed (or raced from two replicas) is refused even if the first use fails later.
    const found = await this.deps.credentials.take(hashToken(code), 'code', this.deps.now());
    if (!found || found.clientId !== client.client_id || !found.runId)
      throw new InvalidGrantError('unknown or expired code');
    if (redirectUri !== undefined && redirectUri !== found.data.redirectUri)
      throw new InvalidGrantError('redirect_uri does not match the authorization request');
    return this.issue(found.runId, client.client_id);
  }

  async exchangeRefreshToken(client: OAuthClientInformationFull, refreshToken: string): Promise<OAuthTokens> {
    // Rotation: a refresh token works once; the new pair replaces it.
    const found = await this.deps.credentials.take(hashToken(refreshToken), 'refresh', this.deps.now());
    if (!found || found.clientId !== client.client_id || !found.runId)
      throw new InvalidGrantError('unknown or expired refresh token');
    return this.issue(found.runId, client.client_id);
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const found = token.startsWith(ACCESS_TOKEN_PREFIX)
      ? await this.deps.credentials.find(hashToken(token), 'access', this.deps.now())
      : undefined;
    if (!found?.runId || !found.clientId) throw new InvalidTokenError('unknown or expired access token');
    return {
      token,
      clientId: found.clientId,
      scopes: [],
      expiresAt: Math.floor(found.expiresAt / 1000),
      extra: { runId: found.runId },
    };
  }

  async revokeToken(
    _client: OAuthClientInformationFull,
    request: OAuthTokenRevocationRequest,
  ): Promise<void> {
    const key = hashToken(request.token);
    const now = this.deps.now();
    await this.deps.credentials.take(key, 'access', now);
    await this.deps.credentials.take(key, 'refresh', now);
  }

  /** Access (short-lived) and refresh tokens for an active run, never outliving it. */
  private async issue(runId: string, clientId: string): Promise<OAuthTokens> {
    const run = await this.deps.runs.get(runId);
    if (run?.state !== 'active') throw new InvalidGrantError('the run has ended');
    const now = this.deps.now();
    const access = mintToken(ACCESS_TOKEN_PREFIX);
    const refresh = mintToken(REFRESH_TOKEN_PREFIX);
    const accessExpires = Math.min(now + ACCESS_TOKEN_TTL_MS, run.expiresAt);
    for (const [token, kind, expiresAt] of [
      [access, 'access', accessExpires],
      [refresh, 'refresh', run.expiresAt],
    ] as const) {
      await this.deps.credentials.put({ key: hashToken(token), kind, runId, clientId, expiresAt, data: {} });
    }
    return {
      access_token: access,
      token_type: 'Bearer',
      expires_in: Math.max(1, Math.floor((accessExpires - now) / 1000)),
      refresh_token: refresh,
    };
  }

  /** The redirect that ends a successful grant step: a one-time code for the client's redirect URI. */
  async redeemGrant(requestId: string, grant: string): Promise<GrantOutcome> {
    const now = this.deps.now();
    const request = await this.deps.credentials.find(hashToken(requestId), 'request', now);
    if (!request?.clientId) return { ok: false, code: 'request_expired' };
    const taken = await this.deps.credentials.take(hashToken(grant.trim()), 'grant', now);
    if (!taken?.runId) return { ok: false, code: 'invalid_grant' };
    await this.deps.credentials.take(hashToken(requestId), 'request', now);
    const code = mintToken(CODE_PREFIX);
    await this.deps.credentials.put({
      key: hashToken(code),
      kind: 'code',
      runId: taken.runId,
      clientId: request.clientId,
      expiresAt: now + CODE_TTL_MS,
      data: request.data,
    });
    const target = new URL(request.data.redirectUri ?? '');
    target.searchParams.set('code', code);
    if (request.data.state !== undefined) target.searchParams.set('state', request.data.state);
    return { ok: true, redirect: target.href };
  }
}

export type GrantOutcome =
  | { ok: true; redirect: string }
  | { ok: false; code: 'request_expired' | 'invalid_grant' };
