/**
 * A launcher killed with SIGKILL (`kill -9` on `bulkhead run`, the OOM killer) runs no cleanup. What a
 * launch makes on the host: its runtime folder (runtime-folders.test.ts), its cgroup (one folder per
 * v1 controller, or one on v2), the jail's processes (bwrap, its init, the agent and whatever they
 * forked), the egress listener's helper, the splice relay, and the proxies' sockets (in node, and in
 * the runtime folder). Each is gone with the launcher or reclaimed by the next launch; nothing of a
 * live launcher's jail is touched.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  goneWithin,
  hostProcesses,
  runInJail,
  skipWithoutCgroups,
  skipWithoutSandbox,
  tempDir,
} from './jail-harness.js';

const skip = skipWithoutSandbox() || skipWithoutCgroups();
const HARNESS = join(import.meta.dirname, 'jail-harness.ts');
const ROOT = join(import.meta.dirname, '../..');
/** An unprivileged launcher's uid: no account, no other process's, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_100_000_000 + (process.pid % 100_000);
const V1 = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer'];

/** The cgroup folders (every controller's) whose name starts with the run id. */
function cgroupsOf(runId: string): string[] {
  const parents = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? ['/sys/fs/cgroup/bulkhead']
    : V1.map((c) => `/sys/fs/cgroup/${c}/bulkhead`);
  return parents.flatMap((p) =>
    existsSync(p)
      ? readdirSync(p)
          .filter((n) => n.startsWith(`${runId}-`))
          .map((n) => join(p, n))
      : [],
  );
}

const membersOf = (cgroup: string) => readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').trim();

interface Launcher {
  runId: string;
  /** SIGKILL to the launcher's node, once its jail ran; resolves when it is gone. */
  kill(): Promise<void>;
}

/**
 * A launcher in its own node (as `bulkhead run` is), running `script` in a jail that uses egress;
 * as root, or as the unprivileged `uid` (no cgroup then: rlimits stand in).
 */
async function launcher(script: string, uid?: number): Promise<Launcher> {
  const runId = `run_crash${Math.random().toString(36).slice(2, 8)}`;
  const dir = tempDir('bulkhead-crash-');
  const file = join(dir, 'launcher.mts');
  const weaker = uid === undefined ? '' : ', weakerLimits: true';
  writeFileSync(
    file,
    `import { jailSpec, tempDir } from ${JSON.stringify(HARNESS)};\n` +
      `import { startJail } from ${JSON.stringify(join(ROOT, 'src/sandbox/index.js'))};\n` +
      `const spec = { ...jailSpec(tempDir('bulkhead-wd-'), ['/bin/sh', '-c', ${JSON.stringify(script)}], { egress: ['allowed.test:443']${weaker} }), runId: ${JSON.stringify(runId)} };\n` +
      `const handle = await startJail(spec);\nconsole.log('STARTED');\nawait handle.exited;\n`,
  );
  if (uid !== undefined) {
    chownSync(dir, uid, uid);
    chmodSync(dir, 0o755);
  }
  const drop = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  // node itself (setpriv execs it), not the tsx command: that runs the script in a child node the SIGKILL misses.
  const [command, ...args] = [...drop, process.execPath, '--import', 'tsx', file];
  const child = spawn(command as string, args, {
    cwd: ROOT,
    env: uid === undefined ? process.env : { ...process.env, TMPDIR: dir, HOME: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('STARTED')) resolve();
    });
    child.once('exit', () => reject(new Error(`the launcher ended before its jail ran: ${out}`)));
  });
  return {
    runId,
    async kill() {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe.skipIf(skip)('what a launcher killed with SIGKILL leaves', () => {
  it('leaves no process of its jail running, forked ones included', async () => {
    const marker = `crashmark${process.pid}`;
    const run = await launcher(`(sh -c 'sleep 300; : ${marker}' &); sh -c 'sleep 300; : ${marker}'`);
    expect(hostProcesses(marker).length).toBeGreaterThan(0);
    await run.kill();
    expect(await goneWithin(marker, 3000)).toBeLessThan(3000);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'an unprivileged launcher leaves no process of its jail running either',
    async () => {
      const marker = `crashmarknobody${process.pid}`;
      const run = await launcher(
        `(sh -c 'sleep 300; : ${marker}' &); sh -c 'sleep 300; : ${marker}'`,
        UNPRIVILEGED,
      );
      expect(hostProcesses(marker).length).toBeGreaterThan(0);
      await run.kill();
      expect(await goneWithin(marker, 3000)).toBeLessThan(3000);
    },
  );

  it('has its cgroup removed by the next launch', async () => {
    const run = await launcher('sleep 300');
    expect(cgroupsOf(run.runId).length).toBeGreaterThan(0);
    await run.kill();
    const { exit } = await runInJail('true');
    expect(exit.exitCode).toBe(0);
    expect(cgroupsOf(run.runId)).toEqual([]);
  });

  it("keeps a live launcher's cgroup and jail when another launch reclaims", async () => {
    const live = await launcher('sleep 300');
    try {
      const { exit } = await runInJail('true');
      expect(exit.exitCode).toBe(0);
      const cgroups = cgroupsOf(live.runId);
      expect(cgroups.length).toBeGreaterThan(0);
      for (const cgroup of cgroups) expect(membersOf(cgroup)).not.toBe('');
    } finally {
      await live.kill();
      await runInJail('true');
    }
  });
});
