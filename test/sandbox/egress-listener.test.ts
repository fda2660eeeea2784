/**
 * The egress proxy's own listener inside the jail (egress-listen.ts): 127.0.0.1:7301 in the
 * jail's network namespace is a socket the host holds and the proxy accepts on, with no in-jail
 * bridge. Attacks on that path, from inside a real jail: a denied destination through it is
 * refused and never reached; the jail reaches no host port directly, and the listener does not
 * open one on the host; the agent cannot take the port over; and the bridge it replaces (kept for
 * launchers that cannot enter the jail's namespace) still works.
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

/** Listening TCP sockets on 127.0.0.1:7301 in a /proc/net/tcp table (state 0A). */
function listensOn7301(table: string): boolean {
  return table.split('\n').some((line) => /^\s*\d+: 0100007F:1C85 00000000:0000 0A /.test(line));
}

describe.skipIf(skip)('the egress proxy listening inside the jail', () => {
  it('carries an allowed request, with no bridge for the egress port', async () => {
    webSaw.length = 0;
    const { out, handle } = await runInJail(
      `curl -sS --noproxy '' -x http://127.0.0.1:7301 http://127.0.0.1:${port}/allowed; echo; grep -c ' 0A ' /proc/net/tcp; pgrep -a socat | grep -c 7301`,
      { egress: [`127.0.0.1:${port}`] },
    );
    expect(out).toContain('hello from the host');
    expect(webSaw).toEqual(['GET /allowed']);
    expect(handle.limits.network).toContain('the egress proxy listens inside the jail');
    // Two listeners in the jail (the proxy's, the gateway bridge's), and no socat on 7301.
    expect(out.trim().split('\n').slice(-2)).toEqual(['2', '0']);
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
    // The listener lives in the jail's namespace only: the host's table has none on 7301.
    expect(hostTable).not.toBe('');
    expect(listensOn7301(hostTable)).toBe(false);
  });

  it('cannot be taken over by the agent: 127.0.0.1:7301 is in use inside', async () => {
    const { out } = await runInJail(
      `node -e "require('net').createServer().on('error',e=>console.log('BIND',e.code)).listen(7301,'127.0.0.1',()=>console.log('BIND ok'))" & sleep 1; kill %1 2>/dev/null; echo`,
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
