/**
 * `bulkhead test FILE`: policy tests, so a policy change is reviewed in CI
 * like code. Each case is decided by the gateway's own checks with no
 * upstream (see src/policy/suite/); exit 1 when any decision differs.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { BulkheadError } from '../errors.js';
import { loadPolicyFile, parseYaml } from '../policy/load.js';
import { type Decision, runPolicySuite } from '../policy/suite/evaluate.js';
import { type Expectation, policyTestFile } from '../policy/suite/schema.js';
import { action, EXIT, line, printJson, style } from './output.js';

export function register(program: Command): void {
  program
    .command('test')
    .description('run policy tests: calls with the decision each must get, decided without upstreams')
    .argument('<file>', 'policy test YAML file')
    .option('--policy <file>', "the policy under test (default: the test file's policy:)")
    .option('--json', 'machine-readable output')
    .action(
      action(async (file: string, opts: { policy?: string; json?: boolean }) => {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (error) {
          throw new BulkheadError('policy_unreadable', `${file}: cannot read the test file`, {
            cause: error,
          });
        }
        const suite = parseYaml(policyTestFile, text, file);
        const policyFile = opts.policy ?? (suite.policy ? resolve(dirname(file), suite.policy) : undefined);
        if (!policyFile)
          throw new BulkheadError(
            'bad_request',
            `${file}: name the policy (policy: in the file, or --policy)`,
          );
        const { results, problems, undefinedTools } = await runPolicySuite(loadPolicyFile(policyFile), suite);
        const failed = results.filter((r) => !r.passed).length;
        if (opts.json)
          printJson({
            file,
            policy: policyFile,
            passed: results.length - failed,
            failed,
            results,
            problems,
            undefinedTools,
          });
        else {
          for (const p of problems)
            line(style.dim(`note: ${p.upstream}.${p.tool} is not in the catalog (${p.code}): ${p.message}`));
          if (undefinedTools.length > 0)
            line(
              style.dim(`note: no definition (definitions: or a pin lock) for ${undefinedTools.join(', ')}`),
            );
          for (const r of results) {
            if (r.passed) line(`${style.green('ok')}    ${r.name}`);
            else
              line(
                `${style.red('FAIL')}  ${r.name}: expected ${showExpected(r.expected)}, got ${showGot(r.got)}`,
              );
          }
          line(`${results.length - failed} passed, ${failed} failed`);
        }
        return failed > 0 ? EXIT.failed : EXIT.ok;
      }),
    );
}

function showExpected(e: Expectation): string {
  if (typeof e === 'string') return e;
  return 'deny' in e ? `deny ${e.deny}` : `hold (${e.hold})`;
}

function showGot(d: Decision): string {
  switch (d.decision) {
    case 'allow':
      return 'allow';
    case 'hold':
      return `hold (${d.reason})`;
    case 'deny':
      return `deny ${d.code} (${d.message})`;
  }
}
