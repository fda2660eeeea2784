/**
 * The `bulkhead` command. Each subcommand lives in its own file and registers
 * itself; this file only assembles them.
 *
 * Only the command being run is loaded: `bulkhead kill` should not pay for
 * the gateway, the policy schema or the dashboard (loading everything took
 * most of a command's start-up). Help, `--version` and unknown commands load
 * them all, so commander can list every command. `bulkhead run` from the
 * build starts from its own bundle instead (run-main.ts, bin/bulkhead.js).
 */
import type { Command } from 'commander';
import { createProgram } from './program.js';

type Registrar = { register(program: Command): void };

const COMMANDS: Record<string, () => Promise<Registrar>> = {
  gateway: () => import('./gateway.js'),
  run: () => import('./run.js'),
  runs: () => import('./runs.js'),
  kill: () => import('./kill.js'),
  approvals: () => import('./approvals.js'),
  approve: () => import('./approvals.js'),
  deny: () => import('./approvals.js'),
  // `audit verify` hangs off `audit`, so both load together.
  audit: async () => {
    const [audit, verify] = await Promise.all([import('./audit.js'), import('./audit-verify.js')]);
    return {
      register(program: Command) {
        audit.register(program);
        verify.register(program);
      },
    };
  },
  pin: () => import('./pin.js'),
  lint: () => import('./lint.js'),
  test: () => import('./test.js'),
  policy: () => import('./policy.js'),
  reload: () => import('./reload.js'),
  demo: () => import('./demo.js'),
};

const program = createProgram();

const named = process.argv[2];
const one = named !== undefined && Object.hasOwn(COMMANDS, named) ? COMMANDS[named] : undefined;
const loaders = one ? [one] : [...new Set(Object.values(COMMANDS))];
const modules = await Promise.all(loaders.map((load) => load()));
for (const module of new Set(modules)) module.register(program);

await program.parseAsync(process.argv);
