/**
 * Credentials bound to a run besides its bearer token: what the gateway's
 * OAuth authorization server hands out (a one-time run grant, authorization
 * codes, access and refresh tokens) and the OAuth clients that registered.
 *
 * Only a hash of each secret value is stored (a client id is not secret and
 * is stored as it is). `take` consumes a credential once, in one statement, so
 * a grant or a code is redeemed at most once even across replicas.
 */

export type CredentialKind = 'client' | 'request' | 'grant' | 'code' | 'access' | 'refresh';

export interface RunCredential {
  /** SHA-256 of the secret value (for `client`, the client id itself). */
  key: string;
  kind: CredentialKind;
  /** The run it opens; null for a registered client or a pending request. */
  runId: string | null;
  clientId: string | null;
  expiresAt: number;
  /** What the step after this one must check (PKCE challenge, redirect URI, ...). */
  data: Record<string, string>;
}

export interface CredentialStore {
  put(credential: RunCredential): Promise<void>;
  /** The unexpired, unconsumed credential, without consuming it. */
  find(key: string, kind: CredentialKind, now: number): Promise<RunCredential | undefined>;
  /** Consumes the credential: only the first caller gets it. */
  take(key: string, kind: CredentialKind, now: number): Promise<RunCredential | undefined>;
  /**
   * Consumes a run's grants, codes and refresh tokens (the run ended). Access
   * tokens stay readable until they expire, so the agent is told the run ended
   * (run_not_active) rather than asked to sign in again.
   */
  revokeRun(runId: string, now: number): Promise<void>;
  /** Deletes what expired before `before`; the table does not grow with time. */
  prune(before: number): Promise<number>;
}
