/**
 * The gateway process's old-generation headroom. Each large tool result
 * passes through the main thread as a few strings of its size (the text read
 * back from the inspection worker, the answer's JSON), and a call in flight
 * when a scavenge runs has them promoted to the old generation. V8 sizes the
 * next full collection from how fast the process allocates: on 1 MB results
 * it let the old generation grow by about half (37 → 60 MB here) before
 * marking it all again, one full collection every seven calls, about a fifth
 * of the gateway's CPU per call (`--trace-gc` of the bench's gateway child,
 * bench/README.md, 6 Dec). A fixed factor of 3 (`--heap-growing-percent=200`)
 * makes those collections about three times rarer; the live heap after each
 * is the same, so memory stays flat over long runs, and V8 still collects
 * sooner as the heap nears its limit.
 *
 * Set once, at the start of a process that serves the gateway (the CLI's
 * `gateway` and `demo`), not by `startGateway`, which tests and embedders call
 * in processes of their own. An operator who sets the flag (`NODE_OPTIONS` or
 * node's command line, `0` for V8's own choice) keeps theirs.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 200;

const FLAG = /(?:^|\s)--heap[-_]growing[-_]percent(?:[=\s]|$)/;

/** Whether node was started with a growing percent of the operator's own. */
export function operatorChoseGrowth(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return execArgv.some((arg) => FLAG.test(arg)) || FLAG.test(nodeOptions ?? '');
}

/** Sets the headroom unless the operator chose one; true when it set it. */
export function widenHeapHeadroom(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
  setFlag: (flag: string) => void = setFlagsFromString,
): boolean {
  if (operatorChoseGrowth(execArgv, nodeOptions)) return false;
  setFlag(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
