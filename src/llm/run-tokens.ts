/**
 * Which run a run token names, remembered once it has authenticated. A run
 * token names one run for the run's whole life (it is minted with the run and
 * never moves), so the token-to-run lookup (a SHA-256, an indexed read and the
 * run's JSON decoded) need not be repeated on every request. What can change
 * is the run itself (killed, expired, exhausted, tainted, also by another
 * replica or process), and that is read every time through `runs.get`, which
 * applies expiry and which the SQLite store serves from memory only while
 * nothing can have changed the row (store/sqlite/run-cache.ts). So a kill or
 * expiry still applies to the very next request.
 *
 * Only run tokens are remembered: an OAuth access token expires and is revoked
 * on its own, so it is looked up every time. Keys are the tokens' hashes,
 * never the tokens.
 */
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import { hashToken, RUN_TOKEN_PREFIX } from '../runs/tokens.js';

/** Enough for every run of a busy gateway; past it the memory starts over. */
const MAX_REMEMBERED = 4096;

export function runTokenLookup(runs: Pick<RunService, 'authenticate' | 'get'>) {
  const runIdOf = new Map<string, string>();
  return async (token: string): Promise<Run | undefined> => {
    if (!token.startsWith(RUN_TOKEN_PREFIX)) return runs.authenticate(token);
    const hash = hashToken(token);
    const id = runIdOf.get(hash);
    if (id !== undefined) {
      const run = await runs.get(id);
      // The hash check is the token check: a run read by id is this token's run only if it says so.
      if (run && run.tokenHash === hash) return run;
      runIdOf.delete(hash);
    }
    const run = await runs.authenticate(token);
    if (run) {
      if (runIdOf.size >= MAX_REMEMBERED) runIdOf.clear();
      runIdOf.set(hash, run.id);
    }
    return run;
  };
}
