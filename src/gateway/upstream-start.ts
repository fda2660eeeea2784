/**
 * Starting an upstream within its `start_timeout`, and the error an upstream that did not start
 * is reported with (upstream-pool.ts).
 */
import { BulkheadError } from '../errors.js';
import { stripHidden } from '../inspect/hidden.js';
import type { Slot } from './upstream-slot.js';

/** Runs `connect` for `slot`, abandoning it (its child process closed) past `start_timeout`. */
export async function connectWithin(
  slot: Slot,
  connect: (slot: Slot, abandoned: () => boolean) => Promise<void>,
): Promise<void> {
  const limit = slot.config.start_timeout ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  let abandoned = false;
  const connecting = connect(slot, () => abandoned);
  try {
    await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`it did not connect and list its tools within ${limit} ms`)),
          limit,
        );
      }),
    ]);
  } catch (error) {
    // Too late is never half-used: the attempt is abandoned and its child process closed.
    abandoned = true;
    connecting.catch(() => undefined);
    const pending = slot.pendingConnection;
    slot.pendingConnection = null;
    await pending?.close().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why `slot` did not start, with its last output (stderr), scrubbed. What the upstream wrote (its
 * stderr, its error's message) is printed to an operator's terminal: escapes in it (OSC 52 writes
 * the clipboard, CSI erases lines) and hidden characters are removed first.
 */
export function startFailure(slot: Slot, error: unknown, scrub: (text: string) => string): BulkheadError {
  const shown = (text: string) => stripHidden(scrub(text)).text;
  const stderr = slot.stderrTail.length
    ? `\n  its last output:\n${slot.stderrTail.map((l) => `    ${shown(l)}`).join('\n')}`
    : '';
  return new BulkheadError(
    'upstream_start_failed',
    `upstream "${slot.name}" did not start: ${shown(error instanceof Error ? error.message : String(error))}${stderr}`,
    { cause: error },
  );
}
