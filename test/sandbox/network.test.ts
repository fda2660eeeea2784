/**
 * Invariant 7, the network half, attacked from inside a real jail: only
 * loopback exists, names do not resolve, and the egress proxy lets through
 * only allow-listed destinations; the bridges reach the host's gateway.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressEvent } from '../../src/sandbox/index.js';
import { runInJail, skipWithoutSandbox, viaProxy } from './jail-harness.js';

const skip = skipWithoutSandbox();
let web: Server;
let webPort = 0;
let gateway: Server;
let gatewayPort = 0;

beforeAll(async () => {
  web = createServer((_req, res) => res.end('hello from the allowed host'));
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  webPort = (web.address() as AddressInfo).port;
  gateway = createServer((req, res) =>
    res.end(`gateway saw ${req.method} ${req.url} ${req.headers.authorization}`),
  );
  gateway.listen(0, '127.0.0.1');
  await once(gateway, 'listening');
  gatewayPort = (gateway.address() as AddressInfo).port;
});
afterAll(() => {
  web?.close();
  gateway?.close();
});

describe.skipIf(skip)('jail network', () => {
  it('has only a loopback interface', async () => {
    const { out } = await runInJail('cat /proc/net/dev');
    const interfaces = [...out.matchAll(/^\s*(\w+):/gm)].map((m) => m[1]);
    expect(interfaces).toEqual(['lo']);
  });

  it('cannot reach a host port by raw TCP', async () => {
    const { out } = await runInJail(
      `node -e "require('net').connect(${webPort},'127.0.0.1').on('connect',()=>console.log('CONNECTED')).on('error',e=>console.log('ERR',e.code))"`,
    );
    expect(out).toContain('ERR ECONNREFUSED');
  });

  it('cannot resolve names', async () => {
    const { out } = await runInJail(
      `node -e "require('dns').lookup('example.com',(e,a)=>console.log('DNS',e?e.code:a))"`,
    );
    expect(out).toMatch(/DNS E[A-Z]+/);
  });

  it('cannot send UDP (DNS) to the outside', async () => {
    const { out } = await runInJail(
      `node -e "const s=require('dgram').createSocket('udp4');s.send('x',53,'8.8.8.8',e=>{console.log('UDP',e?e.code:'sent');s.close()})"`,
    );
    expect(out).toMatch(/UDP (ENETUNREACH|EPERM|EACCES)/);
  });

  it('reaches the gateway through the bridge to the host Unix socket', async () => {
    const { out } = await runInJail(
      `node -e "fetch('http://127.0.0.1:7300/mcp',{headers:{authorization:'Bearer run-token'}}).then(r=>r.text()).then(t=>console.log(t),e=>console.log('ERR',e.message))"`,
      { gatewayUrl: `http://127.0.0.1:${gatewayPort}` },
    );
    expect(out).toContain('gateway saw GET /mcp Bearer run-token');
  });

  for (const bridge of ['socat', 'node'] as const) {
    it(`reaches the gateway and the proxy through the ${bridge} bridge, started before the agent`, async () => {
      // No retry in the agent: its very first connection must find the bridge listening.
      const { out, handle } = await runInJail(
        `node -e "fetch('http://127.0.0.1:7300/v1/first').then(r=>r.text()).then(t=>console.log(t),e=>console.log('ERR',e.message))"; ${viaProxy('http', `http://127.0.0.1:${webPort}/`)}`,
        {
          gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
          egress: [`127.0.0.1:${webPort}`],
          bridge,
          egressPort: 'bridge',
        },
      );
      expect(out).toContain('gateway saw GET /v1/first');
      expect(out).toContain('STATUS 200 hello from the allowed host');
      expect(handle.limits.network).toContain(`${bridge} bridges`);
    });
  }

  it('reaches an allow-listed destination through the proxy (plain HTTP)', async () => {
    const { out } = await runInJail(viaProxy('http', `http://127.0.0.1:${webPort}/`), {
      egress: [`127.0.0.1:${webPort}`],
    });
    expect(out).toContain('STATUS 200 hello from the allowed host');
  });

  it('tunnels to an allow-listed destination with CONNECT', async () => {
    const { out } = await runInJail(viaProxy('connect', `127.0.0.1:${webPort}`), {
      egress: [`127.0.0.1:${webPort}`],
    });
    expect(out).toContain('STATUS 200');
  });

  it('uses the proxy from the environment, as ordinary tools do', async () => {
    // allowed.test resolves (in the proxy) to 127.0.0.1, which is listed as a literal too.
    const { out } = await runInJail(`curl -sS http://allowed.test:${webPort}/; echo`, {
      egress: [`allowed.test:${webPort}`, `127.0.0.1:${webPort}`],
    });
    expect(out).toContain('hello from the allowed host');
  });

  const refused: [string, string, string[], string][] = [
    ['an unlisted host', 'unlisted.example.com:443', ['api.example.com:443'], 'host not on the egress list'],
    [
      'a listed host on another port',
      'api.example.com:22',
      ['api.example.com:443'],
      'port not on the egress list',
    ],
    [
      'an IP literal that is not listed',
      '93.184.216.34:443',
      ['public.test:443'],
      'IP address not on the egress list',
    ],
    [
      'a listed name that resolves to loopback',
      'rebind.test:443',
      ['rebind.test:443'],
      'internal address (127.0.0.1)',
    ],
    [
      'a listed name that resolves to the metadata address',
      'metadata.test:80',
      ['metadata.test:80'],
      'internal address (169.254.169.254)',
    ],
    ['the apex of a wildcard entry', 'example.com:443', ['*.example.com:443'], 'host not on the egress list'],
    [
      'the host loopback by literal',
      `127.0.0.1:${0}`,
      ['rebind.test:443'],
      'IP address not on the egress list',
    ],
  ];
  for (const [name, target, egress, reason] of refused) {
    it(`refuses CONNECT to ${name}, and reports it`, async () => {
      const events: EgressEvent[] = [];
      const realTarget = target.endsWith(':0') ? `127.0.0.1:${webPort}` : target;
      const { out } = await runInJail(viaProxy('connect', realTarget), {
        egress,
        onEgress: (e) => events.push(e),
      });
      expect(out).toContain('STATUS 403');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ method: 'CONNECT', decision: 'deny' });
      expect(events[0]?.reason).toContain(reason);
    });
  }

  it('refuses plain HTTP to an unlisted host the same way', async () => {
    const events: EgressEvent[] = [];
    const { out } = await runInJail(viaProxy('http', 'http://unlisted.example.com/'), {
      egress: ['api.example.com:80'],
      onEgress: (e) => events.push(e),
    });
    expect(out).toContain('STATUS 403');
    expect(events[0]).toMatchObject({ method: 'HTTP', decision: 'deny', host: 'unlisted.example.com' });
  });

  it('reports an allowed attempt with the address it connected to', async () => {
    const events: EgressEvent[] = [];
    await runInJail(viaProxy('http', `http://127.0.0.1:${webPort}/`), {
      egress: [`127.0.0.1:${webPort}`],
      onEgress: (e) => events.push(e),
    });
    expect(events).toEqual([
      {
        method: 'HTTP',
        host: '127.0.0.1',
        port: webPort,
        decision: 'allow',
        reason: `127.0.0.1:${webPort}`,
        address: '127.0.0.1',
      },
    ]);
  });
});
