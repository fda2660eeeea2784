/**
 * What the tests of real agents inside `bulkhead run` share: starting one in
 * the jail with a preset, waiting for the call it holds for approval, and the
 * host processes still carrying a marker (none may survive a kill).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bulkhead, type CliResult } from './cli.js';
import { type TestGateway, tempDir } from './harness.js';

/** `bulkhead run --agent AGENT` with the gateway's policy, profile `coder`, in a fresh workdir. */
export function runAgent(
  gw: TestGateway,
  agent: string,
  command: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<CliResult> {
  const workdir = tempDir(`bulkhead-${agent}-work-`);
  writeFileSync(join(workdir, 'README.md'), 'a project\n');
  const policy = join(gw.dir, 'policy.yaml');
  return bulkhead(
    [
      'run',
      '--policy',
      policy,
      '--profile',
      'coder',
      '--agent',
      agent,
      '--workdir',
      workdir,
      '--',
      ...command,
    ],
    { env, timeoutMs },
  );
}

/** The run whose call for `orderId` is held for approval, once it is (undefined after ~`seconds`). */
export async function heldRunId(
  gw: TestGateway,
  orderId: string,
  seconds = 120,
): Promise<string | undefined> {
  for (let i = 0; i < seconds * 5; i++) {
    const held = (await gw.gateway.store.approvals.list({ state: 'pending' })).find(
      (a) => (a.arguments as { order_id?: string }).order_id === orderId,
    );
    if (held) return held.runId;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

/** Host processes whose command line holds `marker`. */
export function processesWith(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo'));
}
