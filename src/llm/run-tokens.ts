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
 * On SQLite the LLM proxy does not read the run before the reservation at all
 * (`remembered`): it checks the request against the run as the store last read it
 * (`Store.rememberedRun`), and the reservation's transaction confirms that nothing has written
 * the run since (`TokenBudgetStore.reserve`'s `checked`), or the run is read and the request
 * checked again. A run that has expired by the runs' clock is never taken from memory.
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

export function runTokenLookup(
  runs: Pick<RunService, 'authenticate' | 'get' | 'now'>,
  rememberedRun?: (id: string) => Run | undefined,
) {
  const runIdOf = new Map<string, string>();
  /** The active, unexpired run a remembered run token names, as last read; not confirmed. */
  const remembered = (token: string): Run | undefined => {
    if (!rememberedRun || !token.startsWith(RUN_TOKEN_PREFIX)) return undefined;
    const hash = hashToken(token);
    const id = runIdOf.get(hash);
    const run = id === undefined ? undefined : rememberedRun(id);
    return run && run.tokenHash === hash && run.state === 'active' && run.expiresAt > runs.now()
      ? run
      : undefined;
  };
  const lookup = async (token: string): Promise<Run | undefined> => {
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
  return Object.assign(lookup, { remembered });
}
