/**
 * The policy parser as `bulkhead run` loads it, only when it has to parse
 * (a policy it has not read before, or --timeout): zod, the schema, yaml and
 * re2js are four fifths of the command's code. The build bundles this
 * apart (dist/bundle/policy.cjs, scripts/bundle-cli.mjs), so a run that
 * finds its policy in the cache never reads or compiles them.
 */
export { parsePolicy } from '../policy/load.js';
export { duration } from '../policy/schema/units.js';
