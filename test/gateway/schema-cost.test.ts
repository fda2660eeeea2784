/**
 * An upstream's schemas cannot make compiling them stall the gateway. ajv
 * compiles on the event loop, at start and after every `list_changed` (which
 * the upstream sends when it likes): 100 references to a 100-property
 * definition took 4.6 s of CPU (ajv inlined each), a chain of 150 references
 * or an object of 1,000 properties about half a second, longer ones
 * overflowed the stack. A schema past the limits of
 * src/gateway/schema-cost.ts keeps its tool out before anything is compiled
 * (`schema_too_costly`), the upstream's other tools served; an upstream that
 * keeps sending new schemas within the limits runs out of compile budget
 * (`schema_compile_budget`). Meanwhile another agent's calls are answered.
 * Real stdio upstreams (test/fixtures/schema-server.ts) re-list with every
 * schema changed, so no compiled validator can be reused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denialCode, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { chain, fan, names, nest, object } from '../helpers/schema-shapes.js';
import { type SchemaTool, schemaUpstream } from '../helpers/schema-upstream.js';

/** The neighbour's tool: a distinct number per call, so the loop guard sees no repetition. */
const PING: SchemaTool = { name: 'ping', inputSchema: object({ n: { type: 'number' } }) };
const FLOOD: SchemaTool = { name: 'flood', inputSchema: object({}) };
/** Past one limit each. */
const COSTLY: SchemaTool[] = [
  { name: 'chain', inputSchema: chain(150) },
  { name: 'fan', inputSchema: fan(100, 100) },
  { name: 'wide', inputSchema: object(names(1000, () => ({ type: 'string' }))) },
  { name: 'deep', inputSchema: nest(70) },
  { name: 'big_enum', inputSchema: object({ e: { enum: Array.from({ length: 10_001 }, (_, i) => i) } }) },
];
/**
 * Within the limits, each 25-70 ms of CPU to compile (256 properties), and a hundred and twenty of
 * them: one listing held the event loop for seconds. A flood gets few listings (after a listing
 * of L, the next waits 4L: upstream-slot.ts `coalesced`), so what runs out of budget is one
 * listing whose compiling passes the 2 s burst. Forty tools (about 1.2 s on a quiet machine, 3 s
 * at load 7) passed the burst only on a loaded one: a quiet CI machine saw no refusal, twice.
 * A hundred and twenty pass it on any machine here (3-8 s).
 */
const HEAVY: SchemaTool[] = Array.from({ length: 120 }, (_, i) => ({
  name: `heavy${i}`,
  // Each its own (a title), so no compiled validator is shared.
  inputSchema: { ...object(names(256, () => ({ type: 'string' }))), title: `heavy ${i}` },
}));

const tools = (list: SchemaTool[]) => list.map((t) => `    ${t.name}: { class: read }`).join('\n');
const exposed = (up: string, list: SchemaTool[]) => list.map((t) => `${up}__${t.name}`).join(', ');

let gw: TestGateway;
let dir: string;
beforeAll(async () => {
  dir = tempDir();
  const upTools = [PING, FLOOD, ...COSTLY];
  const heavyTools = [FLOOD, ...HEAVY];
  const flood = (name: string, count: number, pauseMs = 20) => ({
    count,
    pauseMs,
    lists: join(dir, `${name}-lists`),
  });
  gw = await startTestGateway(
    `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('up', upTools, { vary: true, flood: flood('up', 150), toolsFile: join(dir, 'up.json') })}
${schemaUpstream('heavy', heavyTools, { vary: true, flood: flood('heavy', 16, 250), toolsFile: join(dir, 'heavy.json') })}
tools:
  up:
${tools(upTools)}
  heavy:
${tools(heavyTools)}
profiles:
  agent:
    tools: [${exposed('up', upTools)}, ${exposed('heavy', heavyTools)}]
`,
    { dir },
  );
}, 120_000);
afterAll(async () => {
  await gw?.close();
});

/** A neighbour's ping latencies while `during` runs (and at least `minMs`). */
async function neighbourWhile(during: Promise<unknown>, minMs: number): Promise<number[]> {
  const neighbour = await gw.agent('agent');
  let done = false;
  void during.finally(() => {
    done = true;
  });
  const started = Date.now();
  const waits: number[] = [];
  while (!done || Date.now() - started < minMs) {
    const asked = Date.now();
    const n = waits.length;
    const answer = await neighbour.client.callTool({ name: 'up__ping', arguments: { n } }, undefined, {
      timeout: 60_000,
    });
    waits.push(Date.now() - asked);
    expect(denialCode(answer)).toBeUndefined();
  }
  return waits;
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;

describe('a schema past the limits', () => {
  it("keeps each such tool out with schema_too_costly, and serves the upstream's others", async () => {
    const agent = await gw.agent('agent');
    const listed = (await agent.client.listTools()).tools.map((t) => t.name);
    for (const t of COSTLY) {
      expect(listed).not.toContain(`up__${t.name}`);
      expect(denialCode(await agent.client.callTool({ name: `up__${t.name}`, arguments: {} }))).toBe(
        'tool_not_in_scope',
      );
    }
    expect(listed).toEqual(expect.arrayContaining(['up__ping', 'up__flood']));
    const log = gw.readLog();
    for (const t of COSTLY) expect(log).toMatch(new RegExp(`"tool":"${t.name}".*schema_too_costly`));
  });

  it('does not stall a neighbour while the upstream re-lists them again and again', async () => {
    const attacker = await gw.agent('agent');
    writeFileSync(join(dir, 'up-lists'), '');
    const flood = attacker.client.callTool({ name: 'up__flood', arguments: {} }, undefined, {
      timeout: 120_000,
    });
    const waits = await neighbourWhile(flood, 2_000);
    await flood;
    // Generous on a shared machine: compiling these held the loop for seconds per listing.
    expect(Math.max(...waits)).toBeLessThan(2_000);
    // The gateway did re-list (coalesced): otherwise this proved nothing.
    expect(lines(join(dir, 'up-lists'))).toBeGreaterThanOrEqual(5);
  }, 150_000);
});

describe('many new schemas within the limits in one listing', () => {
  it('run out of compile budget instead of holding the event loop', async () => {
    const attacker = await gw.agent('agent');
    writeFileSync(join(dir, 'heavy-lists'), '');
    // Only refusals of the flood's listings count, not those of the listing at start.
    const before = gw.readLog().length;
    const flood = attacker.client.callTool({ name: 'heavy__flood', arguments: {} }, undefined, {
      timeout: 120_000,
    });
    const waits = await neighbourWhile(flood, 2_000);
    await flood;
    // Compiling all of them held the loop for 3-8 s; the budget cuts it at its 2 s burst.
    expect(Math.max(...waits)).toBeLessThan(2_500);
    expect(lines(join(dir, 'heavy-lists'))).toBeGreaterThanOrEqual(1);
    // The log is written asynchronously: on a loaded machine the line lands a little later.
    await expect
      .poll(() => gw.readLog().slice(before), { timeout: 15_000 })
      .toMatch(/"tool":"heavy\d+".*schema_compile_budget/);
  }, 150_000);
});
