/**
 * The late part of a spec: what only the run knows, for a jail built while its run is being created
 * (`bulkhead run`). Taken once the workdir is staged and before `go`, so the agent starts with it or
 * not at all; a jail that ends first, or an abort, rejects instead of waiting for a part nothing
 * would read.
 */
import { BulkheadError } from '../errors.js';
import { writeJailFiles, writeLateEnv } from './jail-files.js';
import type { LateJailSpec } from './jail-spec.js';

/** The late part, its files and variables written into the shared folder beside the agent's `env`. */
export async function takeLate(
  late: Promise<LateJailSpec>,
  parts: {
    ended: Promise<[number | null, NodeJS.Signals | null]>;
    signal: AbortSignal | undefined;
    shared: string;
    env: Record<string, string>;
  },
): Promise<LateJailSpec> {
  const taken = await lateOrEnded(late, parts.ended, parts.signal);
  writeJailFiles(parts.shared, taken.files ?? {});
  writeLateEnv(parts.shared, taken.env, parts.env);
  return taken;
}

/** The late part, or a rejection when the jail ends first (nothing would ever read it). */
async function lateOrEnded(
  late: Promise<LateJailSpec>,
  ended: Promise<[number | null, NodeJS.Signals | null]>,
  signal?: AbortSignal,
): Promise<LateJailSpec> {
  signal?.throwIfAborted();
  return Promise.race([
    late,
    new Promise<never>((_, fail) => {
      signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
    }),
    ended.then(([code]) => {
      throw new BulkheadError(
        'sandbox_unavailable',
        `the jail ended before its agent started (exit ${code})`,
      );
    }),
  ]);
}
