/**
 * Plain HTTP egress from a real jail, on the path the answer's body takes through the native
 * relay (egress-forward.ts): curl in the jail -> socat bridge -> Unix socket -> egress proxy ->
 * origin, and back through `socat -u`. The bytes arrive intact, with and without a length, as a
 * proxied request and inside a CONNECT tunnel; a request smuggled behind the first from inside
 * the jail never reaches the origin; and a non-root launcher's proxy relays the same way.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressEvent } from '../../src/sandbox/index.js';
import { runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const BODY = randomBytes(3 * 1024 * 1024);
const SHA = createHash('sha256').update(BODY).digest('hex');
let origin: Server;
let port = 0;
const originSaw: string[] = [];

beforeAll(async () => {
  origin = createServer((req, res) => {
    originSaw.push(`${req.method} ${req.headers.host} ${req.url} ${req.headers.connection}`);
    // /slow sends its first 64 KiB and the rest 1.5 s later: an answer surely still streaming.
    if (req.url === '/slow') {
      res.writeHead(200, { 'content-length': BODY.length });
      res.write(BODY.subarray(0, 65536));
      setTimeout(() => res.end(BODY.subarray(65536)), 1500);
      return;
    }
    // /chunked answers without a length: the relay copies to the far side's EOF.
    if (req.url === '/chunked') res.writeHead(200);
    else res.writeHead(200, { 'content-length': BODY.length });
    res.end(BODY);
  });
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  port = (origin.address() as AddressInfo).port;
});
afterAll(() => origin?.close());

describe.skipIf(skip)('plain HTTP egress from the jail, answers through the native relay', () => {
  it('brings a 3 MB answer intact, with and without a length, proxied and in a tunnel', async () => {
    originSaw.length = 0;
    const proxy = '--noproxy "" -x http://127.0.0.1:7301';
    const lines = [];
    for (const tunnel of ['', '-p'])
      for (const path of ['/sized', '/chunked'])
        lines.push(
          `echo "${tunnel || 'proxy'} ${path} $(curl -s ${tunnel} ${proxy} http://allowed.test:${port}${path} | sha256sum | cut -c1-64)"`,
        );
    const { out } = await runInJail(lines.join('\n'), {
      egress: [`allowed.test:${port}`, `127.0.0.1:${port}`],
      cpu: 2,
    });
    for (const mode of ['proxy', '-p'])
      for (const path of ['/sized', '/chunked']) expect(out).toContain(`${mode} ${path} ${SHA}`);
    expect(originSaw).toHaveLength(4);
    for (const seen of originSaw)
      expect(seen).toMatch(new RegExp(`^GET allowed\\.test:${port} /\\w+ close$`));
  });

  it('never forwards a request pipelined behind the first from inside the jail', async () => {
    originSaw.length = 0;
    const events: EgressEvent[] = [];
    const first = `GET /sized HTTP/1.1\\r\\nHost: allowed.test:${port}\\r\\n\\r\\n`;
    const second = 'GET /x HTTP/1.1\\r\\nHost: other-tenant.example\\r\\n\\r\\n';
    const { out } = await runInJail(
      [
        // proxied: both requests in one write, then the second again while the answer streams
        `node -e "const s=require('net').connect(7301,'127.0.0.1',()=>{s.write('${first.replace('/sized', `http://allowed.test:${port}/sized`)}${second.replace('/x', 'http://other-tenant.example/x')}')});let n=0;s.on('data',d=>{n+=d.length});s.on('error',()=>{});s.on('close',()=>console.log('proxy got',n>0))"`,
        // in a tunnel: the first request, then the second at the answer's first bytes (/slow: it is
        // still streaming). Either client may see a reset rather than an end: the proxy, which
        // accepts the jail's connections itself, destroys a connection with a second request unread.
        `node -e "const s=require('net').connect(7301,'127.0.0.1',()=>s.write('CONNECT allowed.test:${port} HTTP/1.1\\r\\n\\r\\n'));let st=0;s.on('data',d=>{st++;if(st===1)s.write('${first.replace('/sized', '/slow')}');else if(st===2)s.write('${second}')});s.on('error',()=>{});s.on('close',()=>console.log('tunnel closed'))"`,
      ].join('\n'),
      {
        egress: [`allowed.test:${port}`, `127.0.0.1:${port}`],
        onEgress: (event) => events.push(event),
      },
    );
    expect(out).toContain('tunnel closed');
    expect(originSaw.join('\n')).not.toContain('other-tenant');
    expect(originSaw.length).toBeLessThanOrEqual(2);
    expect(events.filter((e) => e.decision === 'deny' && /second request/.test(e.reason)).length).toBe(2);
  });
});

describe.skipIf(skip || process.getuid?.() !== 0)('a non-root launcher (su nobody)', () => {
  it("relays a plain HTTP answer through its own proxy's socat", async () => {
    const dir = tempDir('bulkhead-nobody-egress-');
    chmodSync(dir, 0o755);
    const script = join(dir, 'proxy.mts');
    writeFileSync(
      script,
      `import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { createEgressProxy } from ${JSON.stringify(join(import.meta.dirname, '../../src/sandbox/egress-proxy.ts'))};
const proxy = createEgressProxy({ egress: ['127.0.0.1:${port}'], onEvent: () => undefined });
proxy.listen(0, '127.0.0.1');
await once(proxy, 'listening');
const url = 'http://127.0.0.1:' + proxy.address().port;
// execFile, not execFileSync: the proxy answers on this process's event loop.
const { stdout } = await promisify(execFile)('/bin/sh', ['-c', 'curl -s -x ' + url + ' http://127.0.0.1:${port}/sized | sha256sum']);
console.log(stdout);
proxy.close();
`,
    );
    chmodSync(script, 0o644);
    mkdirSync(join(dir, 'home'), { mode: 0o777 });
    const tsx = join(import.meta.dirname, '../../node_modules/.bin/tsx');
    // Not spawnSync: the origin answers on this process's event loop.
    const result = await promisify(execFile)(
      'su',
      ['nobody', '-s', '/bin/sh', '-c', `cd /tmp && HOME=${dir}/home ${tsx} ${script}`],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.stdout).toContain(SHA);
  });
});
