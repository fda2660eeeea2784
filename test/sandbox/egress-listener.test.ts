/**
 * The host's own listeners inside the jail (egress-listen.ts): 127.0.0.1:7301 and 127.0.0.1:7300
 * in the jail's network namespace are sockets the host holds, accepted on by the egress proxy and
 * the gateway bridge, with no in-jail bridge (no socat, no process of the jail's at all). Attacks
 * on that path, from inside a real jail: a denied destination through it is refused and never
 * reached; the gateway bridge's checks hold on it; the jail reaches no host port directly, and the
 * listeners open none on the host; the agent cannot take either port over; and the bridges they
 * replace (kept for launchers that cannot enter the jail's namespace) still work.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultEgressPort } from '../../src/sandbox/egress-listen.js';
import { type EgressEvent, startJail } from '../../src/sandbox/index.js';
import { jailSpec, runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox() || defaultEgressPort() !== 'listener';
let web: Server;
let port = 0;
const webSaw: string[] = [];

beforeAll(async () => {
  web = createServer((req, res) => {
    webSaw.push(`${req.method} ${req.url}`);
    res.end('hello from the host');
  });
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  port = (web.address() as AddressInfo).port;
});
afterAll(() => web?.close());

/** Listening TCP sockets on 127.0.0.1:7300 or :7301 in a /proc/net/tcp table (state 0A). */
function listensOnJailPorts(table: string): boolean {
  return table.split('\n').some((line) => /^\s*\d+: 0100007F:1C8[45] 00000000:0000 0A /.test(line));
}

describe.skipIf(skip)('the egress proxy and the gateway bridge listening inside the jail', () => {
  it('carries an allowed request, with no bridge process in the jail', async () => {
    webSaw.length = 0;
    const { out, handle } = await runInJail(
      `curl -sS --noproxy '' -x http://127.0.0.1:7301 http://127.0.0.1:${port}/allowed; echo; grep -c ' 0A ' /proc/net/tcp; ps -e -o comm= | grep -v -x -e bwrap -e sh -e ps -e grep -e wc | wc -l`,
      { egress: [`127.0.0.1:${port}`] },
    );
    expect(out).toContain('hello from the host');
    expect(webSaw).toEqual(['GET /allowed']);
    expect(handle.limits.network).toContain('the egress proxy listens inside the jail');
    expect(handle.limits.network).toContain('no bridges');
    // Two listeners in the jail (the proxy's, the gateway bridge's), and no process beside the agent's.
    expect(out.trim().split('\n').slice(-2)).toEqual(['2', '0']);
  });

  it("reaches the gateway through the bridge's listener, with the bridge's checks", async () => {
    const gatewaySaw: string[] = [];
    const gateway = createServer((req, res) => {
      gatewaySaw.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      res.end('gateway here');
    });
    gateway.listen(0, '127.0.0.1');
    await once(gateway, 'listening');
    try {
      const gatewayPort = (gateway.address() as AddressInfo).port;
      const { out } = await runInJail(
        [
          `curl -sS -H 'authorization: Bearer run-token' http://127.0.0.1:7300/mcp; echo`,
          `curl -s -o /dev/null -w 'API %{http_code}\\n' http://127.0.0.1:7300/api/runs`,
          `curl -s -o /dev/null -w 'CONNECT %{http_code}\\n' -p -x http://127.0.0.1:7300 http://127.0.0.1:${gatewayPort}/api/runs`,
        ].join('; '),
        { gatewayUrl: `http://127.0.0.1:${gatewayPort}` },
      );
      expect(out).toContain('gateway here');
      expect(out).toContain('API 403');
      expect(out).toMatch(/CONNECT (403|000)/);
      expect(gatewaySaw).toEqual(['GET /mcp Bearer run-token']);
    } finally {
      gateway.close();
    }
  });

  it('refuses a destination not on the list, before anything reaches it', async () => {
    webSaw.length = 0;
    const events: EgressEvent[] = [];
    const { out } = await runInJail(
      [
        `curl -s -o /dev/null -w 'HTTP %{http_code}\\n' --noproxy '' -x http://127.0.0.1:7301 http://127.0.0.1:${port}/plain`,
        `curl -s -o /dev/null -w 'CONNECT %{http_code}\\n' --noproxy '' -p -x http://127.0.0.1:7301 http://127.0.0.1:${port}/tunnel`,
      ].join('; '),
      { egress: ['api.example.com:443'], onEgress: (event) => events.push(event) },
    );
    expect(out).toContain('HTTP 403');
    expect(out).toMatch(/CONNECT (403|000)/);
    expect(webSaw).toEqual([]);
    expect(events.map((e) => e.decision)).toEqual(['deny', 'deny']);
  });

  it('reaches no host port directly, and opens none on the host', async () => {
    webSaw.length = 0;
    let hostTable = '';
    const { out } = await runInJail(
      `curl -sS --noproxy '*' http://127.0.0.1:${port}/direct 2>&1 | head -c 200; echo; sleep 0.5`,
      {
        egress: [`127.0.0.1:${port}`],
        started: () => {
          hostTable = readFileSync('/proc/self/net/tcp', 'utf8');
        },
      },
    );
    expect(out).toMatch(/Couldn't connect|Connection refused|Failed to connect/);
    expect(webSaw).toEqual([]);
    // The listeners live in the jail's namespace only: the host's table has none on 7300 or 7301.
    expect(hostTable).not.toBe('');
    expect(listensOnJailPorts(hostTable)).toBe(false);
  });

  for (const taken of [7301, 7300])
    it(`cannot be taken over by the agent: 127.0.0.1:${taken} is in use inside`, async () => {
      const { out } = await runInJail(
        `node -e "require('net').createServer().on('error',e=>console.log('BIND',e.code)).listen(${taken},'127.0.0.1',()=>console.log('BIND ok'))" & sleep 1; kill %1 2>/dev/null; echo`,
        {},
      );
      expect(out).toContain('BIND EADDRINUSE');
    });

  it('falls back to the in-jail bridge when asked (launchers that cannot enter the namespace)', async () => {
    webSaw.length = 0;
    const workdir = tempDir('bulkhead-listener-');
    const spec = jailSpec(
      workdir,
      [
        '/bin/sh',
        '-c',
        `curl -sS --noproxy '' -x http://127.0.0.1:7301 http://127.0.0.1:${port}/bridged > out.txt`,
      ],
      { egress: [`127.0.0.1:${port}`] },
    );
    const handle = await startJail({ ...spec, egressPort: 'bridge' });
    await handle.exited;
    expect(readFileSync(`${workdir}/out.txt`, 'utf8')).toContain('hello from the host');
    expect(webSaw).toEqual(['GET /bridged']);
    expect(handle.limits.network).toContain('(socat bridges)');
  });
});
