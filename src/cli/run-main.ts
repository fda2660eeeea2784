/**
 * `bulkhead run` alone: the entry the build bundles into one file
 * (dist/bundle/run.mjs, see scripts/bundle-cli.mjs), which bin/bulkhead.js
 * loads for `bulkhead run`. Its start-up is part of every jailed agent's:
 * resolving and evaluating ~130 separate modules (zod alone is 95) cost
 * more than the jail itself.
 */
import { createProgram } from './program.js';
import { register } from './run.js';

const program = createProgram();
register(program);
await program.parseAsync(process.argv);
