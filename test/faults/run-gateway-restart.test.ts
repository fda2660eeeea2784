/**
 * A jailed run whose gateway went away (issue 16): `bulkhead run` watches for
 * its run's end with a long-poll to the gateway, authenticated with the
 * operator token a local gateway writes to its home. After kill -9 of the
 * gateway and a restart on the same address, the new gateway has minted a new
 * token; a kill of the run at the restarted gateway must still end the jail
 * within seconds, not at the jail's own wall clock.
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { tempDir } from '../helpers/harness.js';
import { skipWithoutSandbox } from '../sandbox/jail-harness.js';
import { api, freePort, killAll, spawnGateway, waitFor } from './processes.js';

afterAll(killAll);

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams: {}
profiles:
  agent: {}
`;

describe.skipIf(skipWithoutSandbox())('a jailed run whose gateway was killed and restarted', () => {
  it('still ends within seconds when the restarted gateway kills the run', async () => {
    const dir = tempDir('bulkhead-run-restart-');
    const workdir = tempDir('bulkhead-run-restart-work-');
    // Seconds with a fraction of its own: the agent's sleep is found by its command line.
    const marker = `sleep 119.${process.pid}${Date.now() % 100_000}`;
    writeFileSync(join(workdir, 'agent.sh'), `echo STARTED; exec ${marker}\n`);
    const port = await freePort();
    const a = await spawnGateway(dir, POLICY, {}, 'policy.yaml', { port }).ready;
    const env = { BULKHEAD_HOME: join(dir, 'home-policy.yaml'), BULKHEAD_GATEWAY: a.url };
    const running = bulkhead(
      [
        'run',
        '--policy',
        join(dir, 'policy.yaml'),
        '--profile',
        'agent',
        '--workdir',
        workdir,
        '--',
        'sh',
        'agent.sh',
      ],
      { env, timeoutMs: 150_000 },
    );
    const runId = await waitFor(async () => {
      const { body } = await api<{ runs: { id: string; state: string }[] }>(a.url, a.adminToken, '/api/runs');
      return body.runs.find((r) => r.state === 'active')?.id;
    }, 60_000);
    await waitFor(() => execSync(`pgrep -fx '${marker}' || true`).toString().trim() !== '', 30_000, 'agent');

    a.child.kill('SIGKILL');
    await a.exited;
    const b = await spawnGateway(dir, POLICY, {}, 'policy.yaml', { port }).ready;
    expect(b.adminToken).not.toBe(a.adminToken);
    const killed = await api(b.url, b.adminToken, `/api/runs/${runId}/kill`, { method: 'POST', body: {} });
    expect(killed.status).toBe(200);
    const killedAt = Date.now();
    const result = await running;
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(result.code).not.toBe(0);
    expect(execSync(`pgrep -fx '${marker}' || true`).toString().trim()).toBe('');
  }, 200_000);
});
