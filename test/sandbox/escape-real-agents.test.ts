/**
 * Class 7: agents that are real programs. A profile mounts the folder of an
 * agent installed outside /usr read-only; a command that does not exist
 * inside gets an error naming the path and the option to mount it; and
 * node's own fetch, which ignores HTTPS_PROXY on Node 20, reaches an
 * allow-listed host through the egress proxy without code changes (and
 * still cannot reach one that is not listed).
 */
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBulkheadError } from '../../src/errors.js';
import { startJail } from '../../src/sandbox/index.js';
import { jailSpec, runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
let web: Server;
let webPort = 0;

beforeAll(async () => {
  web = createServer((req, res) => res.end(`hello ${req.method} ${req.url}`));
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  webPort = (web.address() as AddressInfo).port;
});
afterAll(() => web?.close());

/** An agent installed outside /usr and /tmp, readable by anyone (the jail runs unprivileged). */
function installAgent(): string {
  const root = mkdtempSync('/var/tmp/bulkhead-agent-');
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin', 'agent'), '#!/bin/sh\necho "agent ran with $1"\n');
  chmodSync(join(root, 'bin', 'agent'), 0o755);
  chmodSync(root, 0o755);
  return root;
}

describe.skipIf(skip)('real agents in the jail', () => {
  it('runs an agent from a folder the profile mounts read-only, and that folder stays read-only', async () => {
    const root = installAgent();
    const { out } = await runInJail(`${root}/bin/agent hello; echo x > ${root}/bin/planted; echo end`, {
      mounts: [root],
    });
    expect(out).toContain('agent ran with hello');
    expect(out).toMatch(/Read-only file system/);
  });

  it('names the missing command, what the jail sees and the option to mount it', async () => {
    const root = installAgent();
    const handle = await startJail({
      ...jailSpec(tempDir('bulkhead-wd-'), [`${root}/bin/agent`, 'x']),
      stdio: 'pipe',
    });
    const [stderr, exit] = await Promise.all([
      text(handle.stderr as NonNullable<typeof handle.stderr>),
      handle.exited,
    ]);
    expect(exit.exitCode).toBe(127);
    expect(stderr).toContain(`${root}/bin/agent: not found inside the jail`);
    expect(stderr).toContain('sandbox.mounts');
  });

  it('names a command missing from PATH the same way', async () => {
    const handle = await startJail({
      ...jailSpec(tempDir('bulkhead-wd-'), ['claude-nonexistent']),
      stdio: 'pipe',
    });
    const [stderr, exit] = await Promise.all([
      text(handle.stderr as NonNullable<typeof handle.stderr>),
      handle.exited,
    ]);
    expect(exit.exitCode).toBe(127);
    expect(stderr).toContain('claude-nonexistent: not found inside the jail');
  });

  it("refuses a mount that is a host secret or one of the jail's own paths", async () => {
    for (const mount of ['/etc', '/proc', '/tmp', '/', '/nonexistent-bulkhead']) {
      const error = await startJail({
        ...jailSpec(tempDir('bulkhead-wd-'), ['true']),
        readOnlyMounts: [mount],
      }).catch((e: unknown) => e);
      expect(isBulkheadError(error), mount).toBe(true);
    }
  });

  it("node's fetch goes through the egress proxy with no code change, and only where allowed", async () => {
    const agent = `fetch('http://127.0.0.1:${webPort}/from-fetch').then(r=>r.text()).then(t=>console.log('OK',t),e=>console.log('ERR',e.cause?.message??e.message));
fetch('http://127.0.0.1:${webPort + 1}/denied').then(r=>console.log('DENIED-STATUS',r.status),e=>console.log('REFUSED',e.cause?.message??e.message));`;
    const { out } = await runInJail(`cat > agent.js <<'EOF'\n${agent}\nEOF\nnode agent.js`, {
      egress: [`127.0.0.1:${webPort}`],
      // Loopback destinations skip the proxy by default; here the allowed host happens to be on it.
      env: { NO_PROXY: 'localhost', no_proxy: 'localhost' },
    });
    expect(out).toContain('OK hello GET /from-fetch');
    expect(out).toMatch(/REFUSED the egress proxy refused 127\.0\.0\.1:\d+ \(403/);
  });
});
