/**
 * Inspection workers run below the event loop's OS priority. On a machine
 * with few cores, a worker parsing a neighbour's 9 MB answer or scrubbing
 * 4 MB of hostile text competes for a core with the main thread that serves
 * every other agent; at a higher nice value the kernel gives the core to the
 * main thread whenever it has work, and the worker takes what is left. Only
 * this thread is lowered (Linux applies `setpriority` to the thread whose id
 * it is given), never the process: the main thread keeps its priority.
 *
 * Lowering needs no privilege; a thread that cannot be found (not Linux) or
 * not lowered is reported, and the worker runs at the main thread's priority.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The nice value of inspection workers (0 is the default, 19 the lowest priority). */
export const WORKER_NICE = 10;

export type ThreadPriority = { tid: number; nice: number } | { tid: undefined; why: string };

/** Lowers the calling thread to `nice` (never raises it) and says where it stands. */
export function lowerThisThread(nice: number): ThreadPriority {
  let tid: number;
  try {
    // `/proc/thread-self` links to `<pid>/task/<tid>` for the thread that reads it.
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return { tid: undefined, why: 'no /proc/thread-self: thread priorities are not set on this system' };
  }
  if (!Number.isInteger(tid) || tid <= 0) return { tid: undefined, why: 'no thread id in /proc/thread-self' };
  try {
    if (getPriority(tid) < nice) setPriority(tid, nice);
    return { tid, nice: getPriority(tid) };
  } catch (error) {
    return { tid: undefined, why: `the thread's priority could not be set: ${(error as Error).message}` };
  }
}
