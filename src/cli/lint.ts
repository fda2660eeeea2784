/** `bulkhead lint`: what a valid policy can still get wrong about blast radius. */
import type { Command } from 'commander';
import { lintPolicy } from '../policy/lint.js';
import { loadPolicyFile } from '../policy/load.js';
import { action, EXIT, line, printJson } from './output.js';

export function register(program: Command): void {
  program
    .command('lint')
    .description(
      'check a policy for ungated irreversible tools, shared credentials, missing budgets, broad egress, literal secrets',
    )
    .requiredOption('--policy <file>', 'policy YAML file')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { policy: string; json?: boolean }) => {
        const loaded = loadPolicyFile(opts.policy);
        const findings = lintPolicy(loaded);
        if (opts.json) printJson(findings);
        else if (findings.length === 0) line(`${opts.policy}: no findings`);
        else
          for (const f of findings)
            line(`${loaded.file}:${f.line}:${f.column}: ${f.severity}: ${f.id}: ${f.message}`);
        return findings.some((f) => f.severity === 'high') ? EXIT.failed : EXIT.ok;
      }),
    );
}
