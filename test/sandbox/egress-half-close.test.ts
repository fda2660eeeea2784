/**
 * A client in the jail that half-closes (shutdown(SHUT_WR)) once its request is sent, as curl,
 * git and python clients do in some modes, still gets the whole answer, on every way the jail's
 * 127.0.0.1:7301 reaches the egress proxy: the socat bridge of a non-root launcher (run here as
 * an unprivileged uid), the same bridge under a root launcher, and a root launcher's in-jail listener.
 * And as an attacker would try it: a half-close before any byte reaches nothing and ends at once;
 * an origin that answers slowly, in chunks, after the half-close is heard to the end (socat's
 * default cut it 0.5 s after the client's EOF); a client that closes fully still tears the far
 * connection down, and the proxy's and the bridge's descriptors come back to where they were.
 *
 * Each launcher is its own process (tsx), which runs the origins, the jail and the proxy; the
 * agent (`client.cjs` below) runs the cases in order and prints one JSON line.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultEgressPort } from '../../src/sandbox/egress-listen.js';
import { skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;
const SRC = join(import.meta.dirname, '../../src/sandbox/index.ts');
const HARNESS = join(import.meta.dirname, 'jail-harness.ts');
const TSX = join(import.meta.dirname, '../../node_modules/.bin/tsx');
/**
 * The unprivileged launcher's uid: no account, and no other process's (not `nobody`, whom other
 * suites run as at the same time: without a cgroup the jail's pid limit is RLIMIT_NPROC, which
 * counts every process of the uid).
 */
const UNPRIVILEGED = 1_960_000_000 + (process.pid % 100_000);

/** The agent: each case against 127.0.0.1:7301, in order; prints {case: result}. */
const CLIENT = String.raw`
const net = require('net');
const fs = require('fs');
const PORT = Number(process.argv[2]), RAW = Number(process.argv[3]);
const target = '127.0.0.1:' + PORT;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// One connection: write the steps (a WAIT step waits for the next bytes back), then half-close
// ('end') or keep open, or close fully once destroyWhen came back; resolves with what came back, how it ended and how long it took.
function talk(steps, { after = 'end', limitMs = 8000, destroyWhen } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect({ port: 7301, host: '127.0.0.1', allowHalfOpen: true });
    let got = '', ended = false, step = 0;
    const next = () => {
      const what = steps[step++];
      if (what === undefined) {
        if (after === 'end') s.end();
        return;
      }
      s.write(what);
      if (steps[step] !== undefined && steps[step].startsWith('\u0000wait')) return;
      next();
    };
    const done = (how) => { clearTimeout(timer); s.destroy(); resolve({ got, how, ms: Date.now() - started }); };
    const timer = setTimeout(() => done('timeout'), limitMs);
    s.on('data', (d) => {
      got += d;
      if (destroyWhen && got.includes(destroyWhen)) { clearTimeout(timer); s.destroy(); resolve({ got, how: 'destroyed', ms: Date.now() - started }); }
      else if (steps[step] !== undefined && steps[step].startsWith('\u0000wait')) { step++; next(); }
    });
    s.on('end', () => { ended = true; done('end'); });
    s.on('error', (e) => done('error ' + e.code));
    s.on('connect', () => (steps.length ? next() : after === 'end' ? s.end() : undefined));
  });
}
const get = (path) => 'GET http://' + target + path + ' HTTP/1.1\r\nHost: ' + target + '\r\n\r\n';
const inTunnel = (path) => 'GET ' + path + ' HTTP/1.1\r\nHost: ' + target + '\r\n\r\n';
const connectTo = (t) => 'CONNECT ' + t + ' HTTP/1.1\r\nHost: ' + t + '\r\n\r\n';
const WAIT = '\u0000wait';
// The fds of the in-jail bridges (every socat, or node's bridge.mjs), and the host side's (asked of the origin).
function bridgeFds() {
  let procs = 0, fds = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const comm = fs.readFileSync('/proc/' + pid + '/comm', 'utf8').trim();
      if (comm !== 'socat' && !fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes('bridge.mjs')) continue;
      procs++;
      fds += fs.readdirSync('/proc/' + pid + '/fd').length;
    } catch {}
  }
  return { procs, fds };
}
async function hostFds() {
  const r = await talk([get('/fds')], { after: 'keep' });
  return JSON.parse(r.got.slice(r.got.indexOf('\r\n\r\n') + 4));
}
// The bridges are counted before the host is asked: the socat fork serving that question is still
// exiting when its answer arrives, and counting it or not was a race under load.
async function counts() {
  const bridge = bridgeFds();
  return { host: await hostFds(), bridge };
}
async function settled(baseline) {
  let now;
  for (let i = 0; i < 50; i++) {
    await sleep(200);
    now = await counts();
    if (JSON.stringify(now) === JSON.stringify(baseline)) break;
  }
  return now;
}
(async () => {
  const out = {};
  out.warm = await talk([get('/hello')], { after: 'keep' });
  // Once the far side's relay has started (at the first connection) the counts are the baseline:
  // read until two readings 300 ms apart agree (python's start takes seconds on a loaded host).
  let baseline = await counts();
  for (let i = 0; i < 50; i++) {
    await sleep(300);
    const now = await counts();
    if (JSON.stringify(now) === JSON.stringify(baseline)) break;
    baseline = now;
  }
  out.proxied = await talk([get('/hello')]);
  out.tunnelled = await talk([connectTo(target), WAIT, inTunnel('/hello')]);
  out.slowProxied = await talk([get('/slow')]);
  out.slowTunnelled = await talk([connectTo(target), WAIT, inTunnel('/slow')]);
  out.slowRaw = await talk([connectTo('127.0.0.1:' + RAW), WAIT, 'PING\n']);
  out.nothingProxied = await talk([]);
  out.nothingTunnelled = await talk([connectTo(target), WAIT]);
  out.closed = await talk([get('/stream')], { after: 'keep', destroyWhen: 'tick.' });
  out.closedTunnelled = await talk([connectTo(target), WAIT, inTunnel('/stream')], { after: 'keep', destroyWhen: 'tick.' });
  out.baseline = baseline;
  out.after = await settled(baseline);
  console.log('RESULT ' + JSON.stringify(out));
})();
`;

/** The launcher: origins, a jail running the agent, and what the origins saw. */
function launcher(mode: 'bridge' | 'listener' | 'default', bridge: 'socat' | 'node'): string {
  return `import { once } from 'node:events';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startJail } from ${JSON.stringify(SRC)};
import { jailSpec } from ${JSON.stringify(HARNESS)};

const seen: string[] = [];
let streamsOpen = 0;
const fdsOf = (pid: string) => { try { return readdirSync('/proc/' + pid + '/fd').length; } catch { return 0; } };
// This process (the proxy) and its children (the relays), bwrap's tree aside.
function hostFds() {
  let fds = fdsOf('self');
  for (const pid of readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) {
    try {
      const stat = readFileSync('/proc/' + pid + '/stat', 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(fields[1]) === process.pid && comm !== 'bwrap') fds += fdsOf(pid);
    } catch {}
  }
  return fds;
}
const origin = createServer((req, res) => {
  seen.push(req.url ?? '');
  if (req.url === '/fds') return res.end(JSON.stringify({ fds: hostFds(), streamsOpen }));
  if (req.url === '/hello') return res.end('hello');
  if (req.url === '/slow') {
    // Four chunks 400 ms apart: the last comes 1.2 s after the client's EOF.
    res.writeHead(200);
    let n = 0;
    const tick = () => { n++; if (n === 4) res.end('part4.'); else { res.write('part' + n + '.'); setTimeout(tick, 400); } };
    return tick();
  }
  if (req.url === '/stream') {
    // Never ends by itself: only the proxy closing the connection stops it.
    streamsOpen++;
    res.writeHead(200);
    const timer = setInterval(() => res.write('tick.'), 100);
    res.socket?.once('close', () => { clearInterval(timer); streamsOpen--; });
    return;
  }
  res.writeHead(404).end();
});
origin.listen(0, '127.0.0.1');
await once(origin, 'listening');
const port = (origin.address() as { port: number }).port;
// A raw protocol (not TLS, not HTTP): the tunnel is handed to the relay as it is.
const raw = createTcpServer({ allowHalfOpen: true }, (socket) => {
  socket.once('data', () => {
    socket.write('PONG1.');
    setTimeout(() => socket.write('PONG2.'), 600);
    setTimeout(() => socket.end('PONG3.'), 1200);
  });
});
raw.listen(0, '127.0.0.1');
await once(raw, 'listening');
const rawPort = (raw.address() as { port: number }).port;

const workdir = mkdtempSync(join(tmpdir(), 'bulkhead-half-close-'));
chmodSync(workdir, 0o755);
writeFileSync(join(workdir, 'client.cjs'), ${JSON.stringify(CLIENT)});
writeFileSync(join(workdir, 'script.sh'), 'node ./client.cjs ' + port + ' ' + rawPort + ' > ./out.txt 2>&1');
const spec = {
  ...jailSpec(workdir, ['/bin/sh', './script.sh'], {
    egress: ['127.0.0.1:' + port, '127.0.0.1:' + rawPort],
    timeoutMs: 60_000,
    weakerLimits: process.getuid?.() !== 0,
    bridge: '${bridge}',
  }),
  ${mode === 'default' ? '' : `egressPort: '${mode}' as const,`}
};
const handle = await startJail(spec);
const exit = await handle.exited;
const out = readFileSync(join(workdir, 'out.txt'), 'utf8');
console.log(JSON.stringify({ network: handle.limits.network, exit: exit.exitCode, out, seen, streamsOpen }));
origin.close();
raw.close();
process.exit(0);
`;
}

interface Talk {
  got: string;
  how: string;
  ms: number;
}
interface Counts {
  host: { fds: number; streamsOpen: number };
  bridge: { procs: number; fds: number };
}
interface Outcome {
  network: string;
  exit: number;
  seen: string[];
  streamsOpen: number;
  result: Record<string, Talk> & { baseline: Counts; after: Counts };
}

let dir = '';
beforeAll(() => {
  if (skip) return;
  dir = tempDir('bulkhead-half-close-');
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'home'), { mode: 0o777 });
});

async function launch(
  mode: 'bridge' | 'listener' | 'default',
  asUser: boolean,
  bridge: 'socat' | 'node' = 'socat',
): Promise<Outcome> {
  const script = join(dir, `launch-${mode}-${bridge}-${asUser ? 'user' : 'root'}.mts`);
  writeFileSync(script, launcher(mode, bridge));
  chmodSync(script, 0o644);
  const command = `cd /tmp && HOME=${dir}/home ${TSX} ${script}`;
  // Not execFileSync: nothing here must block while the launcher runs.
  const { stdout } = asUser
    ? await promisify(execFile)(
        'setpriv',
        [`--reuid=${UNPRIVILEGED}`, `--regid=${UNPRIVILEGED}`, '--clear-groups', '/bin/sh', '-c', command],
        { timeout: 90_000 },
      )
    : await promisify(execFile)('/bin/sh', ['-c', command], { timeout: 90_000 });
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Omit<Outcome, 'result'> & {
    out: string;
  };
  const line = report.out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the agent printed no result: ${report.out}`);
  return { ...report, result: JSON.parse(line.slice('RESULT '.length)) };
}

const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';

function expectHalfCloseHonoured(outcome: Outcome): void {
  const r = outcome.result;
  expect(r.warm?.got).toMatch(/hello$/);
  // The request went out, the client half-closed, and the whole answer came back, then the end.
  expect(r.proxied).toMatchObject({ how: 'end', got: expect.stringMatching(/^HTTP\/1\.1 200[\s\S]*hello$/) });
  expect(r.tunnelled).toMatchObject({
    how: 'end',
    got: expect.stringMatching(/^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200[\s\S]*hello$/),
  });
  // A slow answer after the half-close: every chunk, the last 1.2 s after the client's EOF.
  for (const slow of [r.slowProxied, r.slowTunnelled]) {
    expect(slow?.how).toBe('end');
    expect(slow?.got).toMatch(/part1\.[\s\S]*part2\.[\s\S]*part3\.[\s\S]*part4\./);
  }
  expect(r.slowRaw).toMatchObject({ how: 'end', got: `${ESTABLISHED}PONG1.PONG2.PONG3.` });
  // Half-closed before any byte: nothing to forward, the connection ends at once.
  expect(r.nothingProxied).toMatchObject({ got: '', how: 'end' });
  expect(r.nothingProxied?.ms).toBeLessThan(3000);
  expect(r.nothingTunnelled?.how).toMatch(/^(end|error)/);
  expect(r.nothingTunnelled?.ms).toBeLessThan(3000);
  expect(outcome.seen.filter((url) => url !== '/fds')).toEqual([
    '/hello',
    '/hello',
    '/hello',
    '/slow',
    '/slow',
    '/stream',
    '/stream',
  ]);
  // Fully closed clients: the far side's streams were torn down, every descriptor came back.
  expect(r.closed?.got).toContain('tick.');
  expect(r.closedTunnelled?.got).toContain('tick.');
  expect(r.after).toEqual(r.baseline);
  expect(r.after.host.streamsOpen).toBe(0);
}

describe.skipIf(skip || !isRoot)('a client in the jail that half-closes after its request', () => {
  it("gets the whole answer through a non-root launcher's socat bridge (an unprivileged uid)", async () => {
    const outcome = await launch('default', true);
    expect(outcome.network).toContain('socat bridges)');
    expectHalfCloseHonoured(outcome);
  }, 120_000);

  it("gets the whole answer through a root launcher's socat bridge", async () => {
    const outcome = await launch('bridge', false);
    expect(outcome.network).toContain('socat bridges)');
    expectHalfCloseHonoured(outcome);
  }, 120_000);

  it("gets the whole answer through a root launcher's node bridge (no socat)", async () => {
    const outcome = await launch('bridge', false, 'node');
    expect(outcome.network).toContain('node bridges)');
    expectHalfCloseHonoured(outcome);
  }, 120_000);

  it.skipIf(defaultEgressPort() !== 'listener')(
    "gets the whole answer through a root launcher's listener in the jail",
    async () => {
      const outcome = await launch('listener', false);
      expect(outcome.network).toContain('the egress proxy listens inside the jail');
      expectHalfCloseHonoured(outcome);
    },
    120_000,
  );
});
