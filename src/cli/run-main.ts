/**
 * `bulkhead run` alone: the entry the build bundles into one file
 * (dist/bundle/run.cjs, see scripts/bundle-cli.mjs), which bin/bulkhead.js
 * loads for `bulkhead run`. Its start-up is part of every jailed agent's:
 * resolving and evaluating ~130 separate modules (zod alone is 95) cost
 * more than the jail itself. No side effect on load: the build evaluates
 * this module, and runs `warm`, to record V8's code cache for it.
 */
import { createProgram } from './program.js';
import { register } from './run.js';

export { warm } from './run-warm.js';

export async function main(argv: readonly string[]): Promise<void> {
  const program = createProgram();
  register(program);
  await program.parseAsync([...argv]);
  // Everything the command started has ended (the agent, the jail and its servers, the watcher, the
  // API calls it awaited), and stdout and stderr are written synchronously on Linux: node's own
  // teardown of a natural exit (environment cleanup, the heap) is not waited for.
  process.exit();
}
