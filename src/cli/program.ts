/**
 * The `bulkhead` program before any command is registered: name, version and
 * the usage-error exit code. Shared by the full CLI (main.ts) and the
 * one-command entry of `bulkhead run` (run-main.ts).
 */
import { Command } from 'commander';

export function createProgram(): Command {
  return new Command()
    .name('bulkhead')
    .description('Contain the blast radius of AI agents: a policy-enforcing MCP gateway and sandbox.')
    .version('0.1.0')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride((error) => {
      // Usage errors exit 2, as DESIGN.md's CLI contract says.
      process.exit(error.exitCode === 0 ? 0 : 2);
    });
}
