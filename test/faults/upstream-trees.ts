/**
 * Stdio upstream process trees for fault tests: a server that records its pid
 * (as the host sees it), a wrapper like `npx -y server` that also detaches a
 * daemon in its own session, a policy that starts both under `sh -c` and the
 * wrapper, and ways to find every process of the trees without knowing their
 * pids (an environment marker).
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/harness.js';
import { waitFor } from './processes.js';

/** Processes whose environment carries `marker`: every process of the trees, found without knowing their pids. */
export function processesWith(marker: string): number[] {
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

/** Processes one of whose arguments is `arg` (a shell's $0, as `ps` shows it). */
export function processesRunning(arg: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(arg)) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** The fields of /proc/<pid>/stat after the command name (state first, as proc(5) field 3), or none when gone. */
function statOf(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The parent pid of `pid` (field 4 of its stat), or 0 when it is gone. */
export function parentOf(pid: number): number {
  return Number(statOf(pid)?.[1] ?? 0);
}

/** PF_EXITING in a task's flags (field 9): it is in exit and never runs its own code again. */
const PF_EXITING = 0x4;

/**
 * Whether `pid` can still run code of its own. A zombie holds no memory, no credential, runs
 * nothing; nor does a task in exit (killed, tearing down its files and memory), which a loaded
 * machine may leave visible for a while before it is a zombie.
 */
export const alive = (pid: number) => {
  const fields = statOf(pid);
  if (!fields) return false;
  const [state, , , , , , flags] = fields;
  return state !== 'Z' && state !== 'X' && (Number(flags) & PF_EXITING) === 0;
};

/** `pid`'s state, parent and command line, for a message about a process that should be gone. */
export function described(pid: number): string {
  const fields = statOf(pid);
  if (!fields) return `${pid} (gone)`;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // Gone meanwhile.
  }
  return `${pid} state ${fields[0]} flags 0x${Number(fields[6]).toString(16)} ppid ${fields[1]}: ${cmdline}`;
}

/**
 * Waits until no process of the trees can run: none carries the marker and none of `pids` is
 * alive, seen in two scans in a row (one scan of /proc can miss a process, and a process in exit
 * already hides its environment). Resolves with the milliseconds from `since` to the start of the
 * first of those scans; rejects naming the survivors after `ms`.
 */
export async function treesGone(t: Trees, pids: number[], since: number, ms = 5_000): Promise<number> {
  let clearSince: number | undefined;
  let left: number[] = [];
  for (;;) {
    const scanAt = Date.now();
    left = [...new Set([...processesWith(t.marker), ...pids])].filter(alive);
    if (left.length > 0) clearSince = undefined;
    else if (clearSince === undefined) clearSince = scanAt;
    else return clearSince - since;
    if (scanAt - since > ms)
      throw new Error(`processes of the trees still run ${ms} ms on: ${left.map(described).join('; ')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

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

export interface Trees {
  dir: string;
  marker: string;
  yaml: string;
  roles: string[];
}

export function trees(mode: 'stubborn' | 'polite', owner?: number): Trees {
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

export const pidsOf = (t: Trees) =>
  t.roles.map((role) => Number(readFileSync(join(t.dir, 'pids', role), 'utf8')));

export async function allStarted(t: Trees): Promise<number[]> {
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
