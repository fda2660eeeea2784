/**
 * `bulkhead run` killed with SIGKILL (kill -9, the OOM killer) reports nothing: its run stayed
 * active, its token valid and its budget reserved, until the wall clock ran out, though the jail
 * died with the launcher. The launcher's kill watcher names its process (launcherTag), and the
 * gateway kills the run when that poll's connection closes and the process is gone. A dropped
 * connection alone (the launcher still alive, or one the gateway cannot see) never ends a run, and
 * only those who may kill a run may name a launcher.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTokenPath } from '../../src/gateway/local-home.js';
import type { RunState } from '../../src/runs/run.js';
import { launcherTag } from '../../src/sandbox/runtime-folder.js';
import { agentRun, cliEnv } from '../helpers/cli.js';
import { everythingUpstream, ROOT, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { skipWithoutSandbox } from '../sandbox/jail-harness.js';

const skip = skipWithoutSandbox();
const VIEWER = 'viewer-token-0123456789abcdef';
const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
${everythingUpstream()}
tools:
  everything:
    echo: { class: read }
operators:
  carol: { token: { secret: CAROL }, roles: [viewer] }
profiles:
  agent:
    tools: [everything__echo]
    sandbox: { memory: 256M, pids: 128 }
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { env: { CAROL: VIEWER } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

const adminToken = () =>
  readFileSync(localTokenPath(Number(new URL(gw.gateway.url).port), join(gw.dir, 'home')), 'utf8').trim();

/** Polls the run's state until it is not `state` or `ms` have passed. */
async function stateAfter(id: string, state: RunState, ms: number): Promise<RunState | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const now = (await gw.gateway.runs.get(id))?.state;
    if (now !== state || Date.now() > until) return now;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ended(id: string, query: string, token: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${gw.gateway.url}/api/runs/${id}/ended?wait_ms=20000&${query}`, {
    headers: { authorization: `Bearer ${token}` },
    ...(signal ? { signal } : {}),
  });
}

describe.skipIf(skip)('a launcher killed with SIGKILL', () => {
  it('has its run killed within seconds, the launcher named in the reason', async () => {
    const workdir = tempDir('bulkhead-agent-');
    writeFileSync(join(workdir, 'agent.mjs'), 'console.log("UP"); setTimeout(() => {}, 60_000);');
    const launcher = spawn(
      process.execPath,
      [
        join(ROOT, 'bin/bulkhead.js'),
        ...agentRun(
          { policyFile: join(gw.dir, 'policy.yaml') },
          ['--workdir', workdir],
          ['node', 'agent.mjs'],
        ),
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/root',
          BULKHEAD_FROM_SOURCE: '1',
          ...cliEnv(gw),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    launcher.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    for (let i = 0; i < 600 && !out.includes('UP'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('UP');
    const [run] = await gw.gateway.runs.list({ state: 'active' });
    expect(run).toBeDefined();
    const id = run?.id as string;

    launcher.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await stateAfter(id, 'active', 10_000)).toBe('killed');
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    const after = await gw.gateway.runs.get(id);
    expect(after?.endReason).toBe(
      `its launcher (bulkhead run, pid ${launcher.pid}) died without ending the run`,
    );
    const [event] = await gw.gateway.store.events.list({ runId: id, kind: 'run.ended' });
    expect(event?.actor).toBe('system');
  }, 60_000);
});

describe('a lifeline', () => {
  it('dropped by a launcher that is still alive leaves the run active', async () => {
    const { run } = await gw.gateway.runs.create('agent');
    const drop = new AbortController();
    const poll = ended(run.id, `launcher=${launcherTag()}`, adminToken(), drop.signal).catch(() => 'dropped');
    await new Promise((r) => setTimeout(r, 200));
    drop.abort();
    expect(await poll).toBe('dropped');
    // Longer than the gateway looks for a launcher after its lifeline closes (3.75 s).
    expect(await stateAfter(run.id, 'active', 4_500)).toBe('active');
  }, 30_000);

  it('naming a process that does not exist ends the run when it drops', async () => {
    const { run } = await gw.gateway.runs.create('agent');
    const self = launcherTag() as string;
    // The same namespace, a pid no process has (past pid_max).
    const dead = self.replace(/\.\d+\./, '.4194305.');
    const drop = new AbortController();
    const poll = ended(run.id, `launcher=${dead}`, adminToken(), drop.signal).catch(() => 'dropped');
    await new Promise((r) => setTimeout(r, 200));
    drop.abort();
    await poll;
    expect(await stateAfter(run.id, 'active', 3_000)).toBe('killed');
  }, 30_000);

  it('answered before it drops ends nothing', async () => {
    const { run } = await gw.gateway.runs.create('agent');
    const dead = (launcherTag() as string).replace(/\.\d+\./, '.4194305.');
    const answer = await fetch(`${gw.gateway.url}/api/runs/${run.id}/ended?wait_ms=0&launcher=${dead}`, {
      headers: { authorization: `Bearer ${adminToken()}` },
    });
    expect(answer.status).toBe(200);
    expect(await stateAfter(run.id, 'active', 1_000)).toBe('active');
  });

  it('cannot be named by a viewer, who may only watch', async () => {
    const { run } = await gw.gateway.runs.create('agent');
    const self = launcherTag() as string;
    expect((await ended(run.id, `launcher=${self}`, VIEWER)).status).toBe(403);
    const watched = await fetch(`${gw.gateway.url}/api/runs/${run.id}/ended?wait_ms=0`, {
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    expect(watched.status).toBe(200);
  });

  it('that is not a launcher tag is refused as bad input', async () => {
    const { run } = await gw.gateway.runs.create('agent');
    for (const tag of ['x', 'o1.2', 'o1.2.3.4', '../o1.2.3', `o1.2.${'9'.repeat(30)}`]) {
      const answer = await ended(run.id, `launcher=${encodeURIComponent(tag)}`, adminToken());
      expect(answer.status).toBe(400);
      expect(await answer.text()).toContain('launcher must name a process');
    }
  });
});
