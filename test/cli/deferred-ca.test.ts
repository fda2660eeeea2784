/**
 * NODE_EXTRA_CA_CERTS and `bulkhead run` (bin/bulkhead.js, src/cli/client.ts):
 * started through the launcher, node loads no extra CA file at start-up (its
 * 40-80 ms are not paid by every jailed agent), yet what the variable means
 * holds: the processes the run starts get it back, and the CLI's own https
 * requests trust the file's certificates on top of node's store, as node
 * would; every other command is left to node as before.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deferredCaOptions, GatewayClient } from '../../src/cli/client.js';
import { agentRun, bulkhead, type CliResult, useCliGateway } from '../helpers/cli.js';
import { echoPolicy, tempDir } from '../helpers/harness.js';
import { selfSignedFiles } from '../helpers/tls-hello.js';

const DEFERRED = Symbol.for('bulkhead.deferredExtraCaCerts');
const NODE_WARNING = 'Ignoring extra certs from';

/** The launcher as a person's shell runs it: through its shebang, not `node bin/bulkhead.js`. */
function launcher(args: string[], env: Record<string, string>): Promise<CliResult> {
  return bulkhead(args, { env, asTyped: true });
}

describe('bulkhead run through the launcher and NODE_EXTRA_CA_CERTS', () => {
  const cli = useCliGateway(echoPolicy());

  it('starts node without the extra CA file for run (node warns of a missing one at start-up otherwise)', async () => {
    const result = await launcher(['run', '--help'], { NODE_EXTRA_CA_CERTS: '/nonexistent/extra-ca.pem' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: bulkhead run');
    expect(result.stderr).not.toContain(NODE_WARNING);
  });

  it('leaves every other command to node as before', async () => {
    const result = await launcher(['--version'], { NODE_EXTRA_CA_CERTS: '/nonexistent/extra-ca.pem' });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(NODE_WARNING);
  });

  it('gives the variable back to the command the run starts, and nothing of its own', async () => {
    const file = join(tempDir('bulkhead-ca-'), 'extra.pem');
    writeFileSync(file, '');
    const script =
      'console.log(JSON.stringify({ca: process.env.NODE_EXTRA_CA_CERTS ?? null, kept: Object.keys(process.env).filter((k) => k.startsWith("BULKHEAD_DEFERRED"))}))';
    const result = await launcher(agentRun(cli, ['--no-sandbox'], [process.execPath, '-e', script]), {
      ...cli.env,
      NODE_EXTRA_CA_CERTS: file,
    });
    expect(result.code).toBe(0);
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as {
      ca: string | null;
      kept: string[];
    };
    expect(seen).toEqual({ ca: file, kept: [] });
  });
});

describe("the CLI's https requests when node started without the extra CA file", () => {
  let dir: string;
  let server: Server;
  let url: string;
  let serverCert: string;
  let otherCert: string;

  const selfSigned = (name: string) => selfSignedFiles(dir, name);

  beforeAll(async () => {
    dir = tempDir('bulkhead-https-');
    const own = selfSigned('gateway');
    serverCert = readFileSync(own.cert, 'utf8');
    otherCert = readFileSync(selfSigned('other').cert, 'utf8');
    server = createServer({ key: readFileSync(own.key), cert: serverCert }, (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  afterEach(() => {
    delete (globalThis as Record<symbol, unknown>)[DEFERRED];
  });

  it("trusts every certificate in the file the launcher kept from node (here the gateway's is the second)", async () => {
    const file = join(dir, 'bundle.pem');
    writeFileSync(file, `${otherCert}${serverCert}`);
    (globalThis as Record<symbol, unknown>)[DEFERRED] = file;
    const client = new GatewayClient({ gateway: url, token: 't' });
    await expect(client.get('/api/runs')).resolves.toEqual({ ok: true });
  });

  it("keeps node's own CA store beside the file", async () => {
    const file = join(dir, 'one.pem');
    writeFileSync(file, serverCert);
    (globalThis as Record<symbol, unknown>)[DEFERRED] = file;
    const { ca } = await deferredCaOptions();
    const { rootCertificates } = await import('node:tls');
    expect(ca).toEqual([...rootCertificates, serverCert]);
  });

  it('trusts nothing more when the launcher kept nothing', async () => {
    expect(await deferredCaOptions()).toEqual({});
    const client = new GatewayClient({ gateway: url, token: 't' });
    await expect(client.get('/api/runs')).rejects.toMatchObject({ code: 'gateway_unreachable' });
  });

  it('leaves out a file it cannot read, with node’s warning', async () => {
    (globalThis as Record<symbol, unknown>)[DEFERRED] = join(dir, 'missing.pem');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(await deferredCaOptions()).toEqual({});
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.join('\n')).toContain(NODE_WARNING);
  });
});
