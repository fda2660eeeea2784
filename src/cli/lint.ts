/** `bulkhead lint`: what a valid policy can still get wrong about blast radius. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BulkheadError } from '../errors.js';
import { lintPolicy } from '../policy/lint.js';
import { loadPolicyFile } from '../policy/load.js';
import { action, EXIT, line, printJson } from './output.js';

const LEVELS = ['low', 'medium', 'high'] as const;

export function register(program: Command): void {
  program
    .command('lint')
    .description(
      'check a policy for ungated irreversible tools, coarse gating, shared credentials, missing budgets, broad egress, literal secrets',
    )
    .requiredOption('--policy <file>', 'policy YAML file')
    .option('--json', 'machine-readable output')
    .option('--fail-on <severity>', `exit 1 at or above this severity (${LEVELS.join(', ')})`, 'high')
    .action(
      action(async (opts: { policy: string; json?: boolean; failOn: string }) => {
        const threshold = LEVELS.indexOf(opts.failOn as (typeof LEVELS)[number]);
        if (threshold < 0)
          throw new BulkheadError('bad_request', `--fail-on takes one of ${LEVELS.join(', ')}`);
        const loaded = loadPolicyFile(opts.policy);
        const findings = lintPolicy(loaded.policy, readFileSync(loaded.file, 'utf8'));
        if (opts.json) printJson({ file: loaded.file, findings });
        else if (findings.length === 0) line(`${opts.policy}: no findings`);
        else
          for (const f of findings)
            line(`${opts.policy}:${f.line}:${f.column}: ${f.severity}: ${f.id}: ${f.message}`);
        return findings.some((f) => LEVELS.indexOf(f.severity) >= threshold) ? EXIT.failed : EXIT.ok;
      }),
    );
}
