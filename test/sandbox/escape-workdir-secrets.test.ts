/**
 * Escape class 2: a workdir that holds secrets. Without --workdir the jail
 * works on the current folder, and people start `bulkhead run` where they
 * are: the checkout, the policy's folder, $HOME. Each would hand the agent
 * the policy, the SQLite store (its own audit log) or the operator token.
 * `bulkhead run` refuses them before a run exists, naming the reason and
 * suggesting --workdir; a folder of the agent's own works.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isBulkheadError } from '../../src/errors.js';
import { defaultHostSecrets, startJail } from '../../src/sandbox/index.js';
import { bulkhead } from '../helpers/cli.js';
import { ROOT } from '../helpers/harness.js';
import { jailSpec, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const POLICY = `
version: 1
store: { sqlite: ./state/bulkhead.db }
upstreams: {}
profiles:
  agent:
    sandbox: { memory: 256M }
`;

let home: string;
let policyDir: string;
let policyFile: string;
let env: Record<string, string>;

beforeAll(() => {
  home = tempDir('bulkhead-home-');
  mkdirSync(join(home, '.ssh'));
  mkdirSync(join(home, 'projects', 'agent-work'), { recursive: true });
  policyDir = join(home, 'ops');
  mkdirSync(join(policyDir, 'state'), { recursive: true });
  policyFile = join(policyDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  // Nothing listens here: a run that got past the workdir check fails at the gateway instead.
  env = { HOME: home, BULKHEAD_HOME: join(home, '.bulkhead'), BULKHEAD_GATEWAY: 'http://127.0.0.1:9' };
  mkdirSync(join(home, '.bulkhead'));
});

const run = (cwd: string, extra: string[] = []) =>
  bulkhead(['run', '--policy', policyFile, '--profile', 'agent', ...extra, '--', 'true'], { cwd, env });

describe.skipIf(skip)('escape: bulkhead run from a folder that holds secrets', () => {
  const cases: [string, () => [string, string[]], RegExp][] = [
    ["the policy's folder", () => [policyDir, []], /is the policy's folder/],
    ['$HOME', () => [home, []], /is \$HOME/],
    ["bulkhead's checkout", () => [ROOT, []], /bulkhead's install folder/],
    [
      'the store folder, given with --workdir',
      () => [home, ['--workdir', join(policyDir, 'state')]],
      /lies inside the policy's folder/,
    ],
    [
      'the gateway home (operator tokens)',
      () => [home, ['--workdir', join(home, '.bulkhead')]],
      /is the gateway home/,
    ],
    ['~/.ssh', () => [home, ['--workdir', join(home, '.ssh')]], /SSH keys/],
    ['the filesystem root', () => [home, ['--workdir', '/']], /holds/],
  ];
  for (const [name, where, reason] of cases) {
    it(`refuses ${name}, naming the reason and suggesting --workdir, before a run exists`, async () => {
      const [cwd, extra] = where();
      const result = await run(cwd, extra);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(reason);
      expect(result.stderr).toContain('--workdir');
      expect(result.stderr).not.toMatch(/ECONNREFUSED|unreachable|reach the gateway/i);
    });
  }

  it("starts with a folder of the agent's own under $HOME (it only fails later, at the absent gateway)", async () => {
    const result = await run(home, ['--workdir', join(home, 'projects', 'agent-work')]);
    expect(result.stderr).not.toContain('the workdir');
    expect(result.stderr).toMatch(/gateway|ECONNREFUSED|reach/i);
  });

  it('refuses the same folders when the jail is started directly', async () => {
    const sshInside = tempDir('bulkhead-holds-ssh-');
    for (const [workdir, secrets] of [
      [home, defaultHostSecrets(home)],
      [join(home, '.ssh'), defaultHostSecrets(home)],
      [sshInside, [{ path: join(sshInside, 'id_ed25519'), what: 'a key', scope: 'any' as const }]],
    ] as const) {
      const error = await startJail({ ...jailSpec(workdir, ['/bin/true']), hostSecrets: secrets }).catch(
        (e: unknown) => e,
      );
      expect(isBulkheadError(error, 'workdir_refused'), workdir).toBe(true);
    }
  });
});
