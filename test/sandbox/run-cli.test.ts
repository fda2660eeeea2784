/**
 * `bulkhead run` end to end: the agent runs jailed, reaches the gateway only
 * through the in-jail bridge with its run token, and a kill at the gateway
 * ends the whole jailed tree (invariant 6).
 */
import { execSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localTokenPath } from '../../src/gateway/local-home.js';
import { agentRun, bulkhead, useCliGateway } from '../helpers/cli.js';
import { everythingUpstream, ROOT, tempDir } from '../helpers/harness.js';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
${everythingUpstream()}
tools:
  everything:
    echo: { class: read }
profiles:
  agent:
    tools: [everything__echo]
    sandbox: { memory: 256M, pids: 128 }
  tiny:
    tools: []
    sandbox: { memory: 256M, pids: 128, workdir_size: 1M }
`;

// The agent: plain fetch against the MCP endpoint it was given, as any MCP client would.
const AGENT = `
const url = process.env.BULKHEAD_MCP_URL;
const headers = { authorization: 'Bearer ' + process.env.BULKHEAD_TOKEN, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const init = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'jailed', version: '1' } } }) });
const sid = init.headers.get('mcp-session-id');
await init.text();
const h = { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
const call = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'from the jail' } } }) });
console.log('CALL', call.status, await call.text());
if (process.argv[2] === 'linger') { console.log('LINGER ' + process.env.BULKHEAD_RUN_ID); await new Promise((r) => setTimeout(r, 60000)); }
`;

const cli = useCliGateway(POLICY);

function operatorToken(): string {
  const port = Number(new URL(cli.gw.gateway.url).port);
  return readFileSync(localTokenPath(port, cli.env.BULKHEAD_HOME), 'utf8').trim();
}

/**
 * A door in front of the gateway, for `bulkhead run` to talk through: every request passes
 * as it is, except an egress record (POST /api/runs/:id/egress), which is held `delayMs` and then
 * passed on only if its sender is still connected. A sender that has exited by then (a `run`
 * that ended without waiting for its records) loses it, as it would lose a slow gateway's.
 */
async function slowEgressDoor(target: string, delayMs: number) {
  const upstream = new URL(target);
  const counts = { held: 0, passed: 0, dropped: 0 };
  const waiting = new Set<Promise<void>>();
  const pass = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => {
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    if (body) out.end(body);
    else req.pipe(out);
  };
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || !/^\/api\/runs\/[^/]+\/egress$/.test(req.url ?? '')) return pass(req, res);
    counts.held++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    const held = new Promise<void>((resolve) =>
      req.once('end', () =>
        setTimeout(() => {
          if (req.socket.destroyed || !req.socket.writable) {
            counts.dropped++;
            res.destroy();
          } else {
            counts.passed++;
            res.once('finish', () => resolve());
            res.once('close', () => resolve());
            pass(req, res, Buffer.concat(chunks));
            return;
          }
          resolve();
        }, delayMs),
      ),
    );
    waiting.add(held);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ ...counts }),
    settled: () => Promise.all(waiting).then(() => undefined),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('bulkhead run (jailed)', () => {
  it('runs the agent jailed; it reaches the gateway through the bridge with its run token', async () => {
    const workdir = tempDir('bulkhead-agent-');
    writeFileSync(join(workdir, 'agent.mjs'), AGENT);
    const result = await bulkhead(agentRun(cli, ['--workdir', workdir], ['node', 'agent.mjs']), {
      env: cli.env,
    });
    expect(result.stderr).toContain('limits in force');
    expect(result.stdout).toContain('CALL 200');
    expect(result.stdout).toContain('from the jail');
    expect(result.code).toBe(0);
  });

  it('merges the workdir back at exit and records held-back steering changes as audit events', async () => {
    const workdir = tempDir('bulkhead-agent-');
    const result = await bulkhead(
      agentRun(
        cli,
        ['--workdir', workdir, '--json'],
        ['/bin/sh', '-c', 'echo done > result.txt; echo \'{"mcpServers":{}}\' > .mcp.json'],
      ),
      { env: cli.env },
    );
    expect(result.code).toBe(0);
    expect(readFileSync(join(workdir, 'result.txt'), 'utf8')).toBe('done\n');
    expect(existsSync(join(workdir, '.mcp.json'))).toBe(false);
    expect(result.stderr).toContain('workdir .mcp.json: created inside, held back (steering file .mcp.json)');
    const runId = (JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as { run_id: string }).run_id;
    const events = await cli.gw.gateway.store.events.list({ runId, kind: 'workdir' });
    expect(events.map((e) => e.data)).toEqual([
      expect.objectContaining({ kind: 'held_back', path: '.mcp.json', change: 'created' }),
    ]);
  });

  it('records an egress attempt the agent made just before it exited (the command waits for it before ending)', async () => {
    // The record reaches the gateway only 1.5 s after the attempt, through a door that drops it if
    // its sender has gone by then: a command that ended without waiting loses it, whatever the timing.
    // From the sources `run` goes through the entry the build bundles, so it ends as users' does:
    // with process.exit once the command returns, not when nothing is pending any more.
    const door = await slowEgressDoor(cli.gw.gateway.url, 1500);
    try {
      // Through the jail's egress proxy to a host no egress rule allows; the agent exits on the refusal.
      const agent =
        "require('node:http').get({ host: '127.0.0.1', port: 7301, path: 'http://denied.example/', headers: { host: 'denied.example' } }, (r) => { r.resume(); r.on('end', () => process.exit(0)); }).on('error', () => process.exit(0));";
      const result = await bulkhead(
        agentRun(cli, ['--workdir', tempDir('bulkhead-agent-'), '--json'], ['node', '-e', agent]),
        {
          // The gateway's own operator token, which the CLI would look up by the door's port.
          env: { ...cli.env, BULKHEAD_GATEWAY: door.url, BULKHEAD_OPERATOR_TOKEN: operatorToken() },
        },
      );
      expect(result.code).toBe(0);
      const runId = (JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as { run_id: string })
        .run_id;
      // Every record the door held is passed on or dropped by now.
      await door.settled();
      expect(door.counts()).toEqual({ held: 1, passed: 1, dropped: 0 });
      const events = await cli.gw.gateway.store.events.list({ runId, kind: 'egress' });
      expect(events.map((e) => e.decision)).toEqual(['deny']);
    } finally {
      await door.close();
    }
  });

  it('ends the whole jailed tree when the run is killed at the gateway', async () => {
    const workdir = tempDir('bulkhead-agent-');
    writeFileSync(join(workdir, 'agent.mjs'), AGENT);
    const running = bulkhead(agentRun(cli, ['--workdir', workdir], ['node', 'agent.mjs', 'linger']), {
      env: cli.env,
      timeoutMs: 60_000,
    });
    let runId: string | undefined;
    for (let i = 0; i < 200 && !runId; i++) {
      const [active] = await cli.gw.gateway.runs.list({ state: 'active' });
      const events = active
        ? await cli.gw.gateway.store.events.count({ runId: active.id, kind: 'tools/call' })
        : 0;
      if (active && events > 0) runId = active.id;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(runId).toBeDefined();
    const killedAt = Date.now();
    await cli.gw.gateway.runs.end(runId as string, 'killed', 'test');
    const result = await running;
    expect(Date.now() - killedAt).toBeLessThan(3_000);
    expect(result.code).not.toBe(0);
    expect(execSync("pgrep -f '[a]gent.mjs linger' || true").toString().trim()).toBe('');
  });

  it('runs from the build: the one-file bundle of `bulkhead run` finds the jail assets it copies in', async () => {
    // `npm install` builds it (prepare); bin/bulkhead.js loads it for `run` unless told to use the sources.
    expect(existsSync(join(ROOT, 'dist', 'bundle', 'run.cjs'))).toBe(true);
    const workdir = tempDir('bulkhead-agent-');
    const result = await bulkhead(
      agentRun(
        cli,
        ['--workdir', workdir],
        [
          'node',
          '-e',
          "console.log('BUNDLED', require('node:fs').existsSync('/run/bulkhead/node-proxy.cjs'))",
        ],
      ),
      { env: { ...cli.env, BULKHEAD_FROM_SOURCE: '' } },
    );
    expect(result.stderr).toContain('limits in force');
    expect(result.stdout).toContain('BUNDLED true');
    expect(result.code).toBe(0);
  });

  it('ends the run at once when its jail cannot start (a workdir too big for it), not leaving it active', async () => {
    const workdir = tempDir('bulkhead-agent-');
    writeFileSync(join(workdir, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 1));
    const result = await bulkhead(
      ['run', '--policy', cli.policyFile, '--profile', 'tiny', '--workdir', workdir, '--', 'true'],
      { env: cli.env },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('does not fit');
    const runId = /run (run_[A-Za-z0-9_-]+)/.exec(result.stderr)?.[1];
    expect(runId).toBeDefined();
    const run = await cli.gw.gateway.runs.get(runId as string);
    expect(run?.state).toBe('completed');
    expect(run?.endReason).toContain('the jail did not start');
  });

  it('fails closed, naming what is missing, when the jail cannot be built', async () => {
    const result = await bulkhead(['run', '--policy', cli.policyFile, '--profile', 'agent', '--', 'true'], {
      env: { ...cli.env, PATH: '/nonexistent' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bubblewrap (bwrap) is not installed');
    expect(await cli.gw.gateway.runs.list({ state: 'active' })).toEqual([]);
  });
});
