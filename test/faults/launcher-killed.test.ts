/**
 * `bulkhead run` killed with SIGKILL (kill -9, the OOM killer) reports nothing: its run stayed
 * active, its token valid and its budget reserved, until the wall clock ran out, though the jail
 * died with the launcher. The launcher records itself on the run it creates (launcherTag), and the
 * gateway kills a run whose launcher is gone: when its kill watcher drops, at every sweep, and at
 * start. A dropped connection alone (the launcher still alive) never ends a run, and a detached
 * run, which no launcher holds, records none.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTokenPath } from '../../src/gateway/local-home.js';
import type { RunState } from '../../src/runs/run.js';
import { startTimeOf } from '../../src/sandbox/runtime-folder.js';
import { agentRun, bulkhead, cliEnv } from '../helpers/cli.js';
import { echoPolicy, ROOT, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { skipWithoutSandbox } from '../sandbox/jail-harness.js';

const skip = skipWithoutSandbox();
// The smallest policy, its profile jailed with limits.
const POLICY = `${echoPolicy()}    sandbox: { memory: 256M, pids: 128 }\n`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY);
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

/** The kill watcher `bulkhead run` keeps open, dropped when `signal` aborts. */
function ended(id: string, signal: AbortSignal): Promise<Response> {
  return fetch(`${gw.gateway.url}/api/runs/${id}/ended?wait_ms=20000`, {
    headers: { authorization: `Bearer ${adminToken()}` },
    signal,
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
    expect(run?.launcher).toBe(tagOf(launcher.pid as number));

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

const BOOT = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();

/** The tag of process `pid` of this host, boot and pid namespace, as `hostLauncherTag` writes one. */
function tagOf(pid: number): string {
  const ns = /pid:\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
  return `${BOOT}/o${ns}.${pid}.${startTimeOf(pid)}`;
}

/** A process of this host that does not exist: a pid past pid_max. */
const NOBODY = tagOf(process.pid).replace(/\.\d+\.(\d+)$/, '.4194305.$1');

async function createRun(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${gw.gateway.url}/api/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ profile: 'agent', ...body }),
  });
}

describe('a run that names its launcher', () => {
  it('stays active while its launcher lives, or is on another host, though its kill watcher drops', async () => {
    const { run } = await gw.gateway.runs.create('agent', { launcher: tagOf(process.pid) });
    // The same pid namespace number and a pid that is gone here, but another host's (or boot's).
    const elsewhere = await gw.gateway.runs.create('agent', {
      launcher: NOBODY.replace(/^[0-9a-f]{8}/, BOOT.startsWith('0') ? '11111111' : '00000000'),
    });
    const drop = new AbortController();
    const polls = [run, elsewhere.run].map((r) => ended(r.id, drop.signal).catch(() => 'dropped'));
    await new Promise((r) => setTimeout(r, 200));
    drop.abort();
    expect(await Promise.all(polls)).toEqual(['dropped', 'dropped']);
    // Longer than the gateway looks after a drop (3.75 s), and past one sweep (5 s).
    expect(await stateAfter(run.id, 'active', 6_000)).toBe('active');
    expect((await gw.gateway.runs.get(elsewhere.run.id))?.state).toBe('active');
  }, 30_000);

  it('is killed within a sweep when the launcher is gone, with no watcher at all', async () => {
    const created = await createRun({ launcher: NOBODY });
    expect(created.status).toBe(201);
    const { run_id } = (await created.json()) as { run_id: string };
    expect(await stateAfter(run_id, 'active', 7_000)).toBe('killed');
  }, 30_000);

  it('whose launcher died while the gateway was down is killed when it starts again', async () => {
    const dir = tempDir();
    const first = await startTestGateway(POLICY, { dir });
    const holder = spawn('sleep', ['60']);
    const { run } = await first.gateway.runs.create('agent', { launcher: tagOf(holder.pid as number) });
    await first.close();
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const second = await startTestGateway(POLICY, { dir });
    try {
      // At once: the start itself looked.
      expect((await second.gateway.runs.get(run.id))?.state).toBe('killed');
    } finally {
      await second.close();
    }
  }, 60_000);

  it('is recorded only for a run the launcher holds: a detached run names none', async () => {
    const detached = await bulkhead(
      ['run', '--policy', join(gw.dir, 'policy.yaml'), '--profile', 'agent', '--detach', '--json'],
      { env: cliEnv(gw) },
    );
    expect(detached.code).toBe(0);
    const { run_id } = JSON.parse(detached.stdout) as { run_id: string };
    expect((await gw.gateway.runs.get(run_id))?.launcher).toBeNull();
  }, 30_000);

  it('that is not a launcher tag is refused as bad input', async () => {
    const bare = NOBODY.slice(NOBODY.indexOf('/') + 1);
    for (const tag of [
      'x',
      bare,
      `${BOOT}/o1.2`,
      `${BOOT}/o1.2.3.4`,
      `../${bare}`,
      `${BOOT}/o1.2.${'9'.repeat(30)}`,
      7,
    ]) {
      const answer = await createRun({ launcher: tag });
      expect(answer.status).toBe(400);
    }
    expect(await (await createRun({ launcher: 'o1.2' })).text()).toContain(
      'o<pid namespace>.<pid>.<start time>',
    );
  });
});
