/**
 * An upstream's whole process tree dies with the gateway (issue 16). Real
 * stdio upstreams are wrappers: `sh -c '…'`, `npx -y server` (a node process
 * spawning the real server), `uv run …`. After kill -9 of the gateway the
 * real server, a grandchild, must not run on with the upstream's credentials
 * in its environment, nor a daemon the wrapper detached (setsid), nor one
 * that ignores SIGTERM and SIGHUP. Tried as root and as an unprivileged user
 * (nobody), since the containment differs (plain PID namespace vs one inside
 * a user namespace). A clean stop still ends the tree in order (stdin, then
 * SIGTERM reaching every process), and the server sees only its declared
 * environment and its working directory.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, killAll, spawnGateway, waitFor } from './processes.js';
import { alive, allStarted, pidsOf, processesWith, trees, treesGone } from './upstream-trees.js';

afterAll(killAll);

const USERS = [
  { name: 'root', user: undefined, owner: undefined },
  { name: 'nobody', user: { uid: 'nobody', gid: 'nogroup' }, owner: 65534 },
] as const;

describe.each(USERS)('stdio upstream trees of a gateway run as $name', ({ user, owner }) => {
  it('all die within two seconds of kill -9 of the gateway: wrapper, grandchild, detached daemon; a restart finds none', async () => {
    const t = trees('stubborn', owner);
    const gw = await spawnGateway(t.dir, t.yaml, {}, 'policy.yaml', user ? { user } : {}).ready;
    const pids = await allStarted(t);
    const before = processesWith(t.marker);
    // wrapper(s) + server + daemon + sleeper at least; more with the supervising shells.
    expect(before.length).toBeGreaterThanOrEqual(6);
    const killedAt = Date.now();
    gw.child.kill('SIGKILL');
    await gw.exited;
    expect(await treesGone(t, pids, killedAt)).toBeLessThan(2_000);

    // A restart on the same policy and home: only the new gateway's trees run.
    for (const role of t.roles) writeFileSync(join(t.dir, 'pids', role), '0');
    const again = await spawnGateway(t.dir, t.yaml, {}, 'policy.yaml', user ? { user } : {}).ready;
    await waitFor(() => pidsOf(t).every((p) => p > 0 && alive(p)), 30_000, 'restarted servers');
    expect(before.filter(alive)).toEqual([]);
    again.child.kill('SIGKILL');
    await again.exited;
    await waitFor(() => processesWith(t.marker).length === 0, 5_000, 'restarted trees gone');
  }, 120_000);

  it('a clean stop sends SIGTERM to every process of the tree and leaves none', async () => {
    const t = trees('polite', owner);
    const gw = await spawnGateway(t.dir, t.yaml, {}, 'policy.yaml', user ? { user } : {}).ready;
    await allStarted(t);
    const health = await api<{ upstreams: { name: string; state: string }[] }>(
      gw.url,
      gw.adminToken,
      '/api/health',
    );
    expect(health.body.upstreams.map((u) => u.state)).toEqual(['ready', 'ready']);
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    await waitFor(() => processesWith(t.marker).length === 0, 10_000, 'trees gone after a clean stop');
    // The servers ignore the end of stdin, so they were asked with SIGTERM: both servers saw it.
    expect(existsSync(join(t.dir, 'pids', 'sh-server.term'))).toBe(true);
    expect(existsSync(join(t.dir, 'pids', 'npx-server.term'))).toBe(true);
  }, 120_000);
});

describe('a contained stdio upstream', () => {
  it('gets its declared environment and working directory, nothing the supervising shells set', async () => {
    const t = trees('polite');
    const gw = await spawnGateway(t.dir, t.yaml, { GATEWAY_ONLY_SECRET: 'never-in-an-upstream' }).ready;
    await allStarted(t);
    const seen = (role: string) =>
      JSON.parse(readFileSync(join(t.dir, `env-${role}.json`), 'utf8')) as {
        env: Record<string, string>;
        cwd: string;
      };
    const sh = seen('sh-server');
    expect(sh.cwd).toBe(join(t.dir, 'work'));
    expect(sh.env.UPSTREAM_TOKEN).toBe('upstream-credential');
    expect(sh.env.GATEWAY_ONLY_SECRET).toBeUndefined();
    // The configured `sh -c` is the user's own shell: it may set PWD for its child, as it always did.
    // The npx-like wrapper adds nothing: the server has exactly the wrapper's environment.
    const npx = seen('npx-server');
    expect(npx.cwd).toBe(t.dir);
    expect(npx.env.SHLVL).toBe('7');
    const declared = ['BULKHEAD_FAULT_MARKER', 'FAULT_DIR', 'UPSTREAM_TOKEN', 'SHLVL'];
    const defaults = ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'LANG'];
    expect(Object.keys(npx.env).filter((k) => !declared.includes(k) && !defaults.includes(k))).toEqual([]);
    gw.child.kill('SIGKILL');
    await gw.exited;
  }, 120_000);
});
