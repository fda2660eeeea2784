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
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/harness.js';
import { api, killAll, spawnGateway, waitFor } from './processes.js';

afterAll(killAll);

/** Processes whose environment carries `marker`: every process of the trees, found without knowing their pids. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(marker))
        found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    // A zombie is dead: it holds no memory, no credential, runs nothing.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/**
 * A stdio MCP server. argv: its role (it writes its pid to pids/<role>), and
 * `stubborn` to ignore the end of stdin, SIGTERM and SIGHUP; otherwise it
 * notes a SIGTERM (pids/<role>.term) and exits. It writes its environment and
 * cwd to env-<role>.json.
 */
const SERVER = `
const fs = require('node:fs'), path = require('node:path');
const [role, mode] = process.argv.slice(2);
const dir = process.env.FAULT_DIR;
// /proc/self: the pid as the host sees it (process.pid is the one inside a PID namespace).
fs.writeFileSync(path.join(dir, 'pids', role), fs.readlinkSync('/proc/self'));
fs.writeFileSync(path.join(dir, 'env-' + role + '.json'), JSON.stringify({ env: process.env, cwd: process.cwd() }));
if (mode === 'stubborn') { process.on('SIGTERM', () => {}); process.on('SIGHUP', () => {}); }
else process.on('SIGTERM', () => { fs.writeFileSync(path.join(dir, 'pids', role + '.term'), ''); process.exit(0); });
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const result = m.method === 'initialize'
    ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: role, version: '1' } }
    : m.method === 'tools/list' ? { tools: [] } : {};
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n');
});
process.stdin.on('end', () => {});
setInterval(() => {}, 1000);
`;

/**
 * What `npx -y server` does: spawn the real server with inherited stdio,
 * forward SIGTERM/SIGINT, exit with it. This one also detaches a daemon in its
 * own session that ignores SIGTERM and SIGHUP (pids/<role>-daemon).
 */
const NPX_LIKE = `
const { spawn } = require('node:child_process'), fs = require('node:fs'), path = require('node:path');
const [server, role, mode] = process.argv.slice(2);
const child = spawn(process.execPath, [server, role, mode], { stdio: 'inherit' });
const daemon = spawn(process.execPath, ['-e', \`
  require('node:fs').writeFileSync(\${JSON.stringify(path.join(process.env.FAULT_DIR, 'pids', role + '-daemon'))}, require('node:fs').readlinkSync('/proc/self'));
  process.on('SIGTERM', () => {}); process.on('SIGHUP', () => {});
  setInterval(() => {}, 1000);\`], { detached: true, stdio: 'ignore' });
daemon.unref();
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => child.kill(s));
child.on('exit', (code) => process.exit(code ?? 1));
`;

interface Trees {
  dir: string;
  marker: string;
  yaml: string;
  roles: string[];
}

function trees(mode: 'stubborn' | 'polite', owner?: number): Trees {
  const dir = tempDir('bulkhead-trees-');
  mkdirSync(join(dir, 'pids'));
  mkdirSync(join(dir, 'work'));
  writeFileSync(join(dir, 'server.js'), SERVER);
  writeFileSync(join(dir, 'npx-like.js'), NPX_LIKE);
  if (owner !== undefined)
    for (const p of ['', 'pids', 'work', 'server.js', 'npx-like.js']) chownSync(join(dir, p), owner, owner);
  const marker = `BULKHEAD_FAULT_MARKER=${dir}`;
  const env = (extra = '') =>
    `    env: { BULKHEAD_FAULT_MARKER: ${JSON.stringify(dir)}, FAULT_DIR: ${JSON.stringify(dir)}, UPSTREAM_TOKEN: upstream-credential${extra} }`;
  const node = JSON.stringify(process.execPath);
  const server = JSON.stringify(join(dir, 'server.js'));
  const yaml = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  shell:
    command: /bin/sh
    # Not a lone command, so the shell forks rather than execs: the server is its child, beside a sleeper.
    args: [-c, ${JSON.stringify(`sleep 1000 & ${node} ${server} sh-server ${mode}; echo ended >&2`)}]
${env()}
    cwd: ./work
  npx:
    command: ${node}
    args: [${JSON.stringify(join(dir, 'npx-like.js'))}, ${server}, npx-server, ${mode}]
${env(', SHLVL: "7"')}
tools: {}
profiles:
  agent:
    tools: []
`;
  return { dir, marker, yaml, roles: ['sh-server', 'npx-server', 'npx-server-daemon'] };
}

const pidsOf = (t: Trees) => t.roles.map((role) => Number(readFileSync(join(t.dir, 'pids', role), 'utf8')));

async function allStarted(t: Trees): Promise<number[]> {
  await waitFor(
    () => t.roles.every((role) => existsSync(join(t.dir, 'pids', role))),
    30_000,
    'servers started',
  );
  // The pid files are written first thing; give the writers a moment to be the processes they name.
  const pids = await waitFor(() => {
    const p = pidsOf(t);
    return p.every(alive) ? p : undefined;
  });
  return pids;
}

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
    await waitFor(() => processesWith(t.marker).length === 0, 5_000, 'every process of the trees gone').catch(
      () => undefined,
    );
    const took = Date.now() - killedAt;
    expect(processesWith(t.marker)).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    expect(took).toBeLessThan(2_000);

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
