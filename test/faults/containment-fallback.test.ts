/**
 * Where no PID namespace can be made for a stdio upstream (issue 16: a
 * container without user namespaces, systemd's `RestrictNamespaces=yes`), the
 * gateway falls back to a parent-death signal. That fallback is tried here for
 * real: the gateway runs in a bubblewrap jail whose user namespace allows no
 * nested one (`--disable-userns`: `user.max_user_namespaces` is 0 inside that
 * namespace only) and holds no capability, as root and as nobody, so both of
 * its ways to a namespace fail. It must say so (a warning, and the upstream's
 * containment in health), and after kill -9 of the gateway no process of the
 * upstreams' trees may survive: not the wrapper the signal reaches, nor its
 * grandchild server, nor a daemon it detached into its own session.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, gatewayPid, killAll, spawnGateway, waitFor } from './processes.js';
import {
  alive,
  allStarted,
  parentOf,
  pidsOf,
  processesRunning,
  processesWith,
  trees,
  treesGone,
} from './upstream-trees.js';

afterAll(killAll);

/** A jail in which `unshare --pid` fails (no CAP_SYS_ADMIN) and so does a user namespace. */
const NO_NAMESPACES = [
  'bwrap',
  '--unshare-user',
  '--disable-userns',
  '--cap-drop',
  'ALL',
  '--bind',
  '/',
  '/',
  // A bind-mounted /dev is nodev in a user namespace: /dev/null would not open.
  '--dev',
  '/dev',
  // The gateway dies with the test runner, whatever a failed test left.
  '--die-with-parent',
  '--',
];

const USERS = [
  { name: 'root', user: undefined, owner: undefined },
  { name: 'nobody', user: { uid: 'nobody', gid: 'nogroup' }, owner: 65534 },
] as const;

interface UpstreamHealth {
  name: string;
  state: string;
  containment: { mode: string; reason?: string; sweep?: boolean } | null;
}

describe.each(USERS)(
  'stdio upstreams of a gateway that can make no namespace, as $name',
  ({ user, owner }) => {
    const start = (t: ReturnType<typeof trees>, jailed = true) =>
      spawnGateway(t.dir, t.yaml, {}, 'policy.yaml', {
        ...(jailed ? { wrap: NO_NAMESPACES } : {}),
        ...(user ? { user } : {}),
      });

    it('fall back with a warning and health saying so; none of their processes outlives kill -9 of the gateway', async () => {
      const t = trees('stubborn', owner);
      const gw = await start(t).ready;
      const pids = await allStarted(t);
      // The warning (pino, asynchronous) and the banner's upstream lines may follow `listening`.
      await waitFor(() => /no PID namespace/.test(gw.output()), 10_000, 'the warning');
      const banner =
        /upstream npx: ready, 0 tools \(no PID namespace: contained by a parent-death signal and a sweep/;
      await waitFor(() => banner.test(gw.output()), 10_000, 'the banner line');
      const { body } = await api<{ upstreams: UpstreamHealth[] }>(gw.url, gw.adminToken, '/api/health');
      for (const u of body.upstreams) {
        expect(u.state).toBe('ready');
        expect(u.containment).toMatchObject({ mode: 'parent-death', sweep: true });
        expect(u.containment?.reason).toMatch(/unshare/);
      }
      const before = processesWith(t.marker);
      // wrappers + servers + daemon + sleeper at least.
      expect(before.length).toBeGreaterThanOrEqual(5);

      const killedAt = Date.now();
      process.kill(gatewayPid(gw.child), 'SIGKILL');
      await gw.exited;
      // The sweep: SIGTERM, up to 1 s for it, then SIGKILL.
      expect(await treesGone(t, pids, killedAt)).toBeLessThan(3_000);
    }, 120_000);

    it('a restart sweeps what a dead gateway left when its own sweeper was killed with it', async () => {
      const t = trees('stubborn', owner);
      const gw = await start(t).ready;
      await allStarted(t);
      const before = processesWith(t.marker);
      // The whole jail at once: the gateway and the sweeper it started, as an OOM kill of a cgroup
      // might; the grandchildren and the daemon live on, reparented.
      const pid = gatewayPid(gw.child);
      const sweepers = processesRunning('bulkhead-upstream-sweeper').filter((p) => parentOf(p) === pid);
      expect(sweepers).toHaveLength(1);
      process.kill(pid, 'SIGSTOP');
      for (const sweeper of sweepers) process.kill(sweeper, 'SIGKILL');
      process.kill(pid, 'SIGKILL');
      await gw.exited;
      await new Promise((r) => setTimeout(r, 500));
      const left = before.filter(alive);
      expect(left.length).toBeGreaterThan(0);

      for (const role of t.roles) writeFileSync(join(t.dir, 'pids', role), '0');
      // Started outside the jail (each jail is a user namespace of its own, and a process of another
      // one is not this one's to read): as the gateway's next start in its container would.
      const again = await start(t, false).ready;
      await waitFor(() => pidsOf(t).every((p) => p > 0 && alive(p)), 30_000, 'restarted servers');
      await waitFor(() => left.filter(alive).length === 0, 5_000, 'leftovers swept').catch(() => undefined);
      expect(left.filter(alive)).toEqual([]);
      // Logged asynchronously, maybe after the listening banner.
      await waitFor(() => /swept/.test(again.output()), 10_000, 'the sweep logged');
      process.kill(gatewayPid(again.child), 'SIGKILL');
      await again.exited;
      await waitFor(() => processesWith(t.marker).length === 0, 5_000, 'restarted trees gone');
    }, 120_000);

    it('a clean stop leaves none of their processes', async () => {
      const t = trees('polite', owner);
      const gw = await start(t).ready;
      await allStarted(t);
      process.kill(gatewayPid(gw.child), 'SIGTERM');
      await gw.exited;
      await waitFor(() => processesWith(t.marker).length === 0, 10_000, 'trees gone after a clean stop');
      expect(existsSync(join(t.dir, 'pids', 'npx-server.term'))).toBe(true);
    }, 120_000);
  },
);
