/**
 * Invariant 7, attacked from inside a real jail (bubblewrap, namespaces,
 * cgroups): each case is an actual attempt that must fail while the host is
 * unaffected, plus the positive cases the agent's normal work needs.
 * Under CI=true a missing bubblewrap fails this suite; it never skips.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSandboxSupport, type EgressEvent, type JailExit, startJail } from '../../src/sandbox/index.js';
import { tempDir } from '../helpers/harness.js';

const HOST_CANARY = 'host-env-canary-6d1f0b2a';
const outside = tempDir('bulkhead-host-');
const POLICY_FILE = join(outside, 'policy.yaml');
const STORE_FILE = join(outside, 'bulkhead.db');
let web: Server;
let webPort = 0;
const egressEvents: EgressEvent[] = [];

beforeAll(async () => {
  checkSandboxSupport(); // throws, naming what is missing: the suite fails rather than skips
  process.env.BULKHEAD_TEST_CANARY = HOST_CANARY;
  writeFileSync(POLICY_FILE, 'secret: policy-canary');
  writeFileSync(STORE_FILE, 'store-canary');
  web = createServer((_req, res) => res.end('hello from the allowed host'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webPort = (web.address() as AddressInfo).port;
});
afterAll(() => {
  web?.close();
  delete process.env.BULKHEAD_TEST_CANARY;
});

interface Jailed {
  exit: JailExit;
  out: string;
  workdir: string;
}

const RESOLVER = async (host: string) =>
  ({ 'rebind.test': ['127.0.0.1'], 'metadata.test': ['169.254.169.254'], 'public.test': ['93.184.216.34'] })[
    host
  ] ?? Promise.reject(new Error('NXDOMAIN'));

async function jail(
  script: string,
  options: {
    egress?: string[];
    memoryMb?: number;
    pids?: number;
    tmpMb?: number;
    timeoutMs?: number;
    prepare?: (wd: string) => void;
  } = {},
): Promise<Jailed> {
  const workdir = tempDir('bulkhead-wd-');
  options.prepare?.(workdir);
  writeFileSync(join(workdir, 'script.sh'), script);
  const handle = await startJail({
    runId: `run_test${Math.random().toString(36).slice(2, 8)}`,
    workdir,
    command: ['/bin/sh', '-c', 'sh ./script.sh > ./out.txt 2>&1'],
    env: {},
    limits: {
      memoryBytes: (options.memoryMb ?? 256) * 1024 * 1024,
      pids: options.pids ?? 64,
      cpu: 1,
      tmpBytes: (options.tmpMb ?? 16) * 1024 * 1024,
    },
    egress: options.egress ?? [],
    gatewayUrl: 'http://127.0.0.1:9',
    onEgress: (e) => egressEvents.push(e),
    resolve: RESOLVER,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const exit = await handle.exited;
  const out = existsSync(join(workdir, 'out.txt')) ? readFileSync(join(workdir, 'out.txt'), 'utf8') : '';
  return { exit, out, workdir };
}

/** A node one-liner that requests a URL through the jail's egress proxy and prints the status. */
function viaProxy(kind: 'connect' | 'http', target: string): string {
  const js =
    kind === 'connect'
      ? `const r=require('http').request({host:'127.0.0.1',port:7301,method:'CONNECT',path:'${target}'});r.on('connect',(res,s)=>{console.log('STATUS',res.statusCode);s.destroy()});r.on('error',e=>console.log('ERR',e.code));r.end()`
      : `require('http').get({host:'127.0.0.1',port:7301,path:'${target}'},res=>{let b='';res.on('data',d=>b+=d);res.on('end',()=>console.log('STATUS',res.statusCode,b))}).on('error',e=>console.log('ERR',e.code))`;
  return `node -e "${js}"\n`;
}

describe('filesystem', () => {
  it('cannot write outside the workdir', async () => {
    const { out } = await jail(
      'echo x > /usr/bulkhead-escape; echo x > /etc/bulkhead-escape; echo x > /bulkhead-escape; echo done',
    );
    expect(out).toMatch(/Read-only file system|Permission denied/);
    for (const p of ['/usr/bulkhead-escape', '/etc/bulkhead-escape', '/bulkhead-escape'])
      expect(existsSync(p)).toBe(false);
  });

  it('cannot read /root, the policy or the store', async () => {
    const { out } = await jail(`ls /root; cat ${POLICY_FILE}; cat ${STORE_FILE}; echo end`);
    expect(out).not.toContain('policy-canary');
    expect(out).not.toContain('store-canary');
    expect(out).toMatch(/No such file or directory/);
  });

  it("does not see the host's environment", async () => {
    const { out } = await jail('env; cat /proc/1/environ 2>/dev/null | tr "\\0" "\\n"');
    expect(out).not.toContain(HOST_CANARY);
  });

  it('cannot follow a symlink out of the workdir', async () => {
    const { out } = await jail('cat ./escape; echo end', {
      prepare: (wd) => symlinkSync(POLICY_FILE, join(wd, 'escape')),
    });
    expect(out).not.toContain('policy-canary');
  });

  it('cannot change files that steer other tools, even ones that did not exist', async () => {
    const { out, workdir } = await jail(
      'echo evil >> .mcp.json; echo evil > .bashrc; mkdir -p .git/hooks; echo evil > .git/hooks/pre-commit; echo end',
    );
    expect(out).toMatch(/Read-only file system/);
    expect(existsSync(join(workdir, '.git/hooks/pre-commit'))).toBe(false);
    expect(existsSync(join(workdir, '.mcp.json'))).toBe(false); // the placeholder is removed afterwards
  });

  it('keeps an existing .git/config read-only', async () => {
    const { out, workdir } = await jail('echo "[core] fsmonitor = evil" >> .git/config; echo end', {
      prepare: (wd) => {
        mkdirSync(join(wd, '.git/hooks'), { recursive: true });
        writeFileSync(join(wd, '.git/config'), '[core]\n');
      },
    });
    expect(out).toMatch(/Read-only file system/);
    expect(readFileSync(join(workdir, '.git/config'), 'utf8')).toBe('[core]\n');
  });

  it('lets the agent work in its workdir', async () => {
    const { out, workdir, exit } = await jail('mkdir -p src && echo hello > src/a.txt && cat src/a.txt');
    expect(exit.exitCode).toBe(0);
    expect(out).toContain('hello');
    expect(readFileSync(join(workdir, 'src/a.txt'), 'utf8')).toBe('hello\n');
  });

  it('caps /tmp at its size', async () => {
    const { out } = await jail('head -c 20000000 /dev/zero > /tmp/big; echo rc=$?', { tmpMb: 8 });
    expect(out).toMatch(/No space left on device/);
  });
});

describe('network', () => {
  it('cannot reach a host port by raw TCP', async () => {
    const { out } = await jail(
      `node -e "require('net').connect(${webPort},'127.0.0.1').on('connect',()=>console.log('CONNECTED')).on('error',e=>console.log('ERR',e.code))"`,
    );
    expect(out).toContain('ERR ECONNREFUSED');
  });

  it('cannot resolve names or send UDP', async () => {
    const { out } = await jail(
      `node -e "require('dns').lookup('example.com',(e,a)=>console.log('DNS',e?e.code:a));const s=require('dgram').createSocket('udp4');s.send('x',53,'8.8.8.8',e=>{console.log('UDP',e?e.code:'sent');s.close()})"`,
    );
    expect(out).toMatch(/DNS E[A-Z]+/);
    expect(out).toMatch(/UDP (ENETUNREACH|EPERM|EACCES)/);
  });

  it('reaches an allow-listed destination through the proxy (plain HTTP)', async () => {
    const { out } = await jail(viaProxy('http', `http://127.0.0.1:${webPort}/`), {
      egress: [`127.0.0.1:${webPort}`],
    });
    expect(out).toContain('STATUS 200 hello from the allowed host');
  });

  it('tunnels to an allow-listed destination with CONNECT', async () => {
    const { out } = await jail(viaProxy('connect', `127.0.0.1:${webPort}`), {
      egress: [`127.0.0.1:${webPort}`],
    });
    expect(out).toContain('STATUS 200');
  });

  const refused: [string, string, string[]][] = [
    ['an unlisted host', 'unlisted.example.com:443', ['api.example.com:443']],
    ['a listed host on another port', 'api.example.com:22', ['api.example.com:443']],
    ['an IP literal that is not listed', '93.184.216.34:443', ['public.test:443']],
    ['a listed name that resolves to loopback', 'rebind.test:443', ['rebind.test:443']],
    ['a listed name that resolves to the metadata address', 'metadata.test:80', ['metadata.test:80']],
    ['the apex of a wildcard entry', 'example.com:443', ['*.example.com:443']],
  ];
  for (const [name, target, egress] of refused) {
    it(`refuses CONNECT to ${name}`, async () => {
      const { out } = await jail(viaProxy('connect', target), { egress });
      expect(out).toContain('STATUS 403');
    });
  }

  it('refuses plain HTTP to an unlisted host the same way', async () => {
    const { out } = await jail(viaProxy('http', 'http://unlisted.example.com/'), {
      egress: ['api.example.com:80'],
    });
    expect(out).toContain('STATUS 403');
  });

  it('reports every egress attempt, allowed or denied', () => {
    expect(egressEvents.some((e) => e.decision === 'allow')).toBe(true);
    expect(egressEvents.some((e) => e.decision === 'deny' && e.reason.includes('internal address'))).toBe(
      true,
    );
  });
});

describe('processes and resources', () => {
  it('cannot signal a host process', async () => {
    const { out } = await jail(`kill -9 ${process.pid}; echo rc=$?`);
    expect(out).toMatch(/No such process|rc=1/);
  });

  it('holds the pids limit against a fork bomb', async () => {
    // The bomb runs in a subshell (a failed fork ends it); counting uses shell builtins only,
    // since nothing more can be forked once the limit is reached.
    const { out } = await jail(
      '( while :; do sleep 30 & done ) 2>/dev/null; set -- /proc/[0-9]*; echo "procs $#"',
      {
        pids: 48,
        timeoutMs: 15_000,
      },
    );
    const count = Number(/procs (\d+)/.exec(out)?.[1]);
    expect(count).toBeGreaterThan(20); // it really forked up to the limit
    expect(count).toBeLessThanOrEqual(48);
  });

  it('kills a memory bomb inside and leaves the host fine', async () => {
    const { exit } = await jail('node -e "const a=[];for(;;)a.push(Buffer.alloc(8*1024*1024,1))"', {
      memoryMb: 96,
    });
    expect(exit.exitCode === 0).toBe(false);
    expect(exit.peakMemoryBytes ?? 0).toBeLessThanOrEqual(97 * 1024 * 1024);
  });

  it('leaves no process behind after the agent exits', async () => {
    const marker = `bulkhead-survivor-${Date.now()}`;
    await jail(`(setsid sh -c 'exec -a ${marker} sleep 300' &) ; echo left`);
    // [b] keeps pgrep from matching its own shell's command line.
    expect(
      execSync(`pgrep -f '[b]${marker.slice(1)}' || true`)
        .toString()
        .trim(),
    ).toBe('');
  });

  it('ends the whole tree at the wall clock', async () => {
    const started = Date.now();
    const { exit } = await jail('sleep 60 & sleep 60; echo never', { timeoutMs: 500 });
    expect(exit.reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
