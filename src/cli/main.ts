/**
 * The `bulkhead` command. Each subcommand lives in its own file and registers
 * itself; this file only assembles them.
 */
import { Command } from 'commander';
import { register as registerApprovals } from './approvals.js';
import { register as registerAudit } from './audit.js';
import { register as registerDemo } from './demo.js';
import { register as registerGateway } from './gateway.js';
import { register as registerKill } from './kill.js';
import { register as registerLint } from './lint.js';
import { register as registerPin } from './pin.js';
import { register as registerRun } from './run.js';
import { register as registerRuns } from './runs.js';

const program = new Command()
  .name('bulkhead')
  .description('Contain the blast radius of AI agents: a policy-enforcing MCP gateway and sandbox.')
  .version('0.1.0')
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride((error) => {
    // Usage errors exit 2, as DESIGN.md's CLI contract says.
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

for (const register of [
  registerGateway,
  registerRun,
  registerRuns,
  registerKill,
  registerApprovals,
  registerAudit,
  registerPin,
  registerLint,
  registerDemo,
])
  register(program);

await program.parseAsync(process.argv);
