/**
 * Live policy on a real gateway process: SIGHUP (and `bulkhead reload`)
 * re-read the file while an agent has calls in flight. A valid policy swaps
 * at once for new calls, in-flight calls finish under the old one, only the
 * sessions whose tools changed hear list_changed, upstreams come and go; an
 * invalid policy is refused with file:line:column and the old one keeps
 * serving. Every reload is an audit event.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { connectAgent, denialCode, EVERYTHING_SERVER, tempDir, text } from '../helpers/harness.js';
import { type GatewayProcess, spawnGateway } from './gateway-process.js';

const upstream = (name: string) =>
  [
    `  ${name}:`,
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [${JSON.stringify(EVERYTHING_SERVER)}]`,
  ].join('\n');

const V1 = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${upstream('everything')}
tools:
  everything:
    echo: { class: read }
    trigger-long-running-operation: { class: read, rename: slow }
profiles:
  agent:
    tools: [everything__echo, everything__slow]
  bystander:
    tools: [everything__echo]
`;

// slow leaves the agent's profile; a second upstream arrives with its own echo.
const V2 = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${upstream('everything')}
${upstream('second')}
tools:
  everything:
    echo: { class: read }
    trigger-long-running-operation: { class: read, rename: slow }
  second:
    echo: { class: read }
profiles:
  agent:
    tools: [everything__echo, second__echo]
  bystander:
    tools: [everything__echo]
`;

// Line 12 has a typo'd class: the whole reload must be refused.
const INVALID = V2.replace('  second:\n    echo: { class: read }', '  second:\n    echo: { class: reed }');

let dir: string;
let policyFile: string;
let gw: GatewayProcess;

interface Agent {
  client: Client;
  runId: string;
  listChanged: number;
}

async function agent(profile: string): Promise<Agent> {
  const created = await gw.api<{ run_id: string; token: string }>('POST', '/api/runs', { profile });
  const client = await connectAgent(gw.url, created.body.token);
  const a: Agent = { client, runId: created.body.run_id, listChanged: 0 };
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
    a.listChanged++;
  });
  return a;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function reloadEvents(): Promise<
  { decision: string; code: string | null; actor: string; data: Record<string, unknown> }[]
> {
  const { body } = await gw.api<{ events: never[] }>('GET', '/api/events?kind=policy.reloaded&limit=50');
  return body.events;
}

async function upstreamPid(name: string): Promise<number | null> {
  const { body } = await gw.api<{ upstreams: { name: string; pid: number | null }[] }>('GET', '/api/health');
  return body.upstreams.find((u) => u.name === name)?.pid ?? null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = tempDir('bulkhead-reload-');
  policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, V1);
  gw = await spawnGateway(policyFile, { dir });
}, 60_000);
afterAll(async () => {
  await gw?.stop();
});

describe('policy reload on SIGHUP', () => {
  it('swaps the policy for new calls while an in-flight call finishes under the old one', async () => {
    const worker = await agent('agent');
    const bystander = await agent('bystander');
    const inFlight = worker.client.callTool(
      { name: 'everything__slow', arguments: { duration: 3, steps: 3 } },
      undefined,
      { timeout: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(policyFile, V2);
    gw.child.kill('SIGHUP');
    await gw.waitFor('policy reloaded');
    expect(gw.child.exitCode).toBeNull();

    // New calls: the removed tool is out of scope, the added upstream serves.
    const refused = await worker.client.callTool({
      name: 'everything__slow',
      arguments: { duration: 1, steps: 1 },
    });
    expect(denialCode(refused)).toBe('tool_not_in_scope');
    const added = await worker.client.callTool({ name: 'second__echo', arguments: { message: 'hi' } });
    expect(text(added)).toContain('hi');
    const { tools } = await worker.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['everything__echo', 'second__echo']);

    // The call that started under the old policy completes as allowed.
    const finished = await inFlight;
    expect(denialCode(finished)).toBeUndefined();
    expect(finished.isError).not.toBe(true);

    await until(() => worker.listChanged > 0);
    // The bystander's tools did not change: it is not told to re-list.
    await new Promise((r) => setTimeout(r, 300));
    expect(bystander.listChanged).toBe(0);

    const [event] = (await reloadEvents()).filter((e) => e.decision === 'allow');
    expect(event?.actor).toBe('signal:SIGHUP');
    expect(event?.data).toMatchObject({
      upstreams_added: ['second'],
      upstreams_removed: [],
      profiles_changed: ['agent'],
    });
    await worker.client.close();
    await bystander.client.close();
  }, 60_000);

  it('refuses an invalid policy, says where (file:line:column), and keeps serving the old one', async () => {
    const worker = await agent('agent');
    writeFileSync(policyFile, INVALID);
    gw.child.kill('SIGHUP');
    await gw.waitFor('policy reload refused');
    expect(gw.stderr()).toMatch(/policy\.yaml:\d+:\d+: tools\.second\.echo\.class/);
    const still = await worker.client.callTool({
      name: 'second__echo',
      arguments: { message: 'still here' },
    });
    expect(text(still)).toContain('still here');
    const refused = (await reloadEvents()).find((e) => e.decision === 'deny');
    expect(refused?.code).toBe('policy_invalid');
    expect(String(refused?.data.message)).toMatch(/policy\.yaml:\d+:\d+/);
    expect(worker.listChanged).toBe(0);
    await worker.client.close();
  }, 60_000);

  it('stops an upstream the policy no longer names (bulkhead reload from the CLI)', async () => {
    writeFileSync(policyFile, V2);
    const pid = await upstreamPid('second');
    expect(pid).toBeTypeOf('number');
    writeFileSync(policyFile, V1);
    const cli = await bulkhead(['reload', '--gateway', gw.url, '--json'], {
      env: { BULKHEAD_OPERATOR_TOKEN: gw.token },
    });
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: true, changes: { upstreams_removed: ['second'] } });
    await until(() => !alive(pid as number));
    expect(await upstreamPid('second')).toBeNull();
    const events = await reloadEvents();
    expect(events[0]?.actor).toBe('operator:local');

    writeFileSync(policyFile, INVALID);
    const bad = await bulkhead(['reload', '--gateway', gw.url], {
      env: { BULKHEAD_OPERATOR_TOKEN: gw.token },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/policy\.yaml:\d+:\d+/);
  }, 60_000);

  it('refuses a change that needs a restart (the store) and names it', async () => {
    writeFileSync(policyFile, V1.replace('./bulkhead.db', './other.db'));
    const cli = await bulkhead(['reload', '--gateway', gw.url], {
      env: { BULKHEAD_OPERATOR_TOKEN: gw.token },
    });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('changing store needs a restart');
  }, 30_000);
});
