/**
 * Sign-in with an operator token. The token goes to the gateway once and is
 * exchanged for an HttpOnly session cookie; the page never stores it.
 */
import { useState } from 'preact/hooks';
import type { SessionInfo } from '../types.js';

export function SignIn({ onSignedIn, expired }: { onSignedIn: (s: SessionInfo) => void; expired: boolean }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const response = await fetch('/ui/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ token: token.trim() }),
      });
      const body = (await response.json().catch(() => ({}))) as SessionInfo & { message?: string };
      if (!response.ok) throw new Error(body.message ?? 'Sign-in failed.');
      setToken('');
      onSignedIn(body);
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Sign-in failed.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <div class="brand brand-dark">
          <span class="brand-mark" aria-hidden="true" />
          bulkhead
        </div>
        <h1 id="signin-title">Operator sign-in</h1>
        {expired ? <p class="note">Your session ended. Sign in again to continue.</p> : null}
        <label class="field">
          <span>Operator token</span>
          <input
            type="password"
            name="token"
            autoComplete="off"
            spellcheck={false}
            required
            autofocus
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        {error ? (
          <p class="note note-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="btn btn-primary btn-block" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="hint">
          A local gateway writes an admin token to <code>~/.bulkhead/gateway-PORT.token</code>. Run tokens
          cannot sign in.
        </p>
      </form>
    </main>
  );
}
