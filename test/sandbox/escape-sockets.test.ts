/**
 * Escape class 6: only the sockets the agent needs. From inside a real jail:
 * socket families other than AF_UNIX, AF_INET and AF_INET6 are refused by
 * seccomp (AF_VSOCK reaches the hypervisor, AF_NETLINK the kernel, AF_ALG
 * and AF_PACKET are attack surface); the gateway bridge reaches `/mcp` and
 * the LLM proxy under `/v1/` and nothing else of the gateway, however the
 * path is dressed up; and plain HTTP inside an allowed CONNECT tunnel must
 * name the tunnel's host, as TLS SNI must.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressEvent } from '../../src/sandbox/index.js';
import { runInJail, skipWithoutSandbox } from './jail-harness.js';

const skip = skipWithoutSandbox();
let gateway: Server;
let gatewayPort = 0;
const gatewaySaw: string[] = [];
let web: Server;
let webPort = 0;
const webSaw: string[] = [];

beforeAll(async () => {
  gateway = createServer((req, res) => {
    gatewaySaw.push(`${req.method} ${req.url}`);
    res.end(`gateway saw ${req.method} ${req.url}`);
  });
  gateway.listen(0, '127.0.0.1');
  await once(gateway, 'listening');
  gatewayPort = (gateway.address() as AddressInfo).port;
  web = createServer((req, res) => {
    webSaw.push(`${req.headers.host} ${req.url}`);
    res.end(`web answered ${req.headers.host}`);
  });
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  webPort = (web.address() as AddressInfo).port;
});
afterAll(() => {
  gateway?.close();
  web?.close();
});

/** perl (perl-base, in /usr) opens any socket family, which no shell tool does. */
const FAMILIES: Record<string, [number, number]> = {
  AF_NETLINK: [16, 2],
  AF_PACKET: [17, 2],
  AF_VSOCK: [40, 1],
  AF_ALG: [38, 5],
  AF_BLUETOOTH: [31, 1],
  AF_KEY: [15, 3],
  AF_XDP: [44, 3],
  AF_APPLETALK: [5, 2],
};

describe.skipIf(skip)('escape: sockets beyond what the agent needs', () => {
  it('refuses every address family but AF_UNIX, AF_INET and AF_INET6', async () => {
    const probes = Object.entries(FAMILIES)
      .map(
        ([name, [family, type]]) =>
          `perl -e 'socket(my $s, ${family}, ${type}, 0) ? print "OPEN ${name}\\n" : print "REFUSED ${name} $!\\n"'`,
      )
      .join('\n');
    const allowed = `perl -e 'for ([1,1],[2,1],[10,2]) { socket(my $s, $_->[0], $_->[1], 0) ? print "OPEN $_->[0]\\n" : print "REFUSED $_->[0] $!\\n" }'`;
    const { out } = await runInJail(`${probes}\n${allowed}`);
    for (const name of Object.keys(FAMILIES))
      expect(out).toMatch(new RegExp(`REFUSED ${name} Address family not supported`));
    expect(out).not.toMatch(/OPEN AF_/);
    for (const family of [1, 2, 10]) expect(out).toContain(`OPEN ${family}\n`);
  });

  it('reaches /mcp and /v1/ on the gateway, and nothing else of it, however the path is written', async () => {
    gatewaySaw.length = 0;
    const paths = [
      '/api/runs',
      '/api/kill-all',
      '/ui/',
      '/metrics',
      '/mcp/../api/runs',
      '/v1/../api/runs',
      '/v1/%2e%2e/api/runs',
      '/mcp%2f..%2fapi/runs',
      '/.well-known/oauth-protected-resource',
      '//api/runs',
    ];
    const tries = paths
      .map((p) => `curl -s -o /dev/null -w "%{http_code} ${p}\\n" --path-as-is 'http://127.0.0.1:7300${p}'`)
      .join('\n');
    const sideways = [
      // absolute-form request line, an upgrade, and a CONNECT through the bridge
      `curl -s -o /dev/null -w "%{http_code} absolute\\n" --request-target 'http://127.0.0.1:7300/api/runs' http://127.0.0.1:7300/`,
      `curl -s -o /dev/null -w "%{http_code} upgrade\\n" -H 'Connection: Upgrade' -H 'Upgrade: websocket' http://127.0.0.1:7300/mcp`,
      `curl -s -o /dev/null -w "%{http_code} connect\\n" -p -x http://127.0.0.1:7300 http://127.0.0.1:${gatewayPort}/api/runs`,
    ].join('\n');
    const good = `curl -s http://127.0.0.1:7300/mcp; echo; curl -s -X POST http://127.0.0.1:7300/v1/messages; echo`;
    const { out } = await runInJail(`${tries}\n${sideways}\n${good}`, {
      gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    });
    for (const p of paths) expect(out).toContain(`403 ${p}\n`);
    expect(out).toMatch(/403 absolute/);
    expect(out).toMatch(/(403|000) upgrade/);
    expect(out).toMatch(/(403|000) connect/);
    expect(out).toContain('gateway saw GET /mcp');
    expect(out).toContain('gateway saw POST /v1/messages');
    expect(gatewaySaw.filter((line) => !/^(GET \/mcp|POST \/v1\/messages)$/.test(line))).toEqual([]);
  });

  it('refuses plain HTTP inside an allowed CONNECT tunnel when its Host names another site', async () => {
    webSaw.length = 0;
    const events: EgressEvent[] = [];
    const proxy = `--noproxy '' -p -x http://127.0.0.1:7301`;
    const target = `http://127.0.0.1:${webPort}/`;
    const { out } = await runInJail(
      [
        `curl -s ${proxy} -H 'Host: other-tenant.example' ${target}; echo " rc=$?"`,
        `curl -s ${proxy} -H 'Host: 127.0.0.1:1' ${target}; echo " rc=$?"`,
        // the same request sent a byte at a time must not slip past the check
        `node -e "const s=require('net').connect(7301,'127.0.0.1',()=>s.write('CONNECT 127.0.0.1:${webPort} HTTP/1.1\\r\\n\\r\\n'));let st=0;s.on('data',d=>{if(st++===0){const r='GET / HTTP/1.1\\r\\nHost: other-tenant.example\\r\\nConnection: close\\r\\n\\r\\n';let i=0;const t=setInterval(()=>{s.write(r[i++]);if(i===r.length)clearInterval(t)},2)}else process.stdout.write('SLOW '+d.toString().split('\\r\\n')[0]+'\\n')});s.on('close',()=>console.log('SLOW closed'))"`,
        `curl -s ${proxy} ${target}; echo " rc=$?"`,
      ].join('\n'),
      { egress: [`127.0.0.1:${webPort}`], onEgress: (event) => events.push(event) },
    );
    expect(out).toContain('bulkhead egress denied: HTTP Host other-tenant.example inside the tunnel differs');
    expect(out).toContain('bulkhead egress denied: HTTP Host 127.0.0.1:1 inside the tunnel differs');
    expect(out).toContain('SLOW HTTP/1.1 403 Forbidden');
    expect(out).toContain(`web answered 127.0.0.1:${webPort}`);
    expect(webSaw).toEqual([`127.0.0.1:${webPort} /`]);
    expect(events.filter((e) => e.decision === 'deny' && /HTTP Host/.test(e.reason))).toHaveLength(3);
  });

  it('refuses a request line past 8 KiB inside an allowed tunnel (the far side would serve its Host)', async () => {
    // node's own server takes a 9 KiB request line; it used to go through raw, Host unchecked.
    webSaw.length = 0;
    const events: EgressEvent[] = [];
    const { out } = await runInJail(
      `node -e "const s=require('net').connect(7301,'127.0.0.1',()=>s.write('CONNECT 127.0.0.1:${webPort} HTTP/1.1\\r\\n\\r\\n'));let st=0;s.on('data',d=>{if(st++===0)s.write('GET /'+'a'.repeat(9000)+' HTTP/1.1\\r\\nHost: other-tenant.example\\r\\nConnection: close\\r\\n\\r\\n');else process.stdout.write('LONG '+d.toString().split('\\r\\n').at(-1)+'\\n')});s.on('close',()=>console.log('LONG closed'))"`,
      { egress: [`127.0.0.1:${webPort}`], onEgress: (event) => events.push(event) },
    );
    expect(out).toContain('LONG closed');
    expect(out).not.toContain('web answered other-tenant');
    expect(webSaw).toEqual([]);
    expect(events.at(-1)).toMatchObject({
      decision: 'deny',
      reason: expect.stringContaining('written loosely'),
    });
  });
});
