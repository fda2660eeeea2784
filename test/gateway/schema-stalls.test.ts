/**
 * An upstream schema cannot make one agent's argument stall the gateway for
 * everyone. ajv's `uniqueItems` compared every pair of non-scalar items: an
 * argument of 8,000 small objects (87 KB) held the event loop about two
 * seconds, 30,000 (330 KB) about half a minute. The check is linear now
 * (src/gateway/unique-items.ts). A second agent's call must be answered
 * while the first one's huge array is checked; the upstream
 * (test/fixtures/schema-server.ts) records what it receives.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { denialCode, recorded, type TestGateway } from '../helpers/harness.js';
import { type SchemaTool, startSchemaGateway } from '../helpers/schema-upstream.js';

const TOOLS: SchemaTool[] = [
  {
    name: 'tag',
    inputSchema: {
      type: 'object',
      properties: {
        rows: {
          type: 'array',
          uniqueItems: true,
          items: { type: 'object', properties: { a: { type: 'number' } } },
        },
        loose: { type: 'array', uniqueItems: true },
      },
    },
  },
  { name: 'ping', inputSchema: { type: 'object', properties: {} } },
];

let gw: TestGateway;
let record: string;
beforeAll(async () => {
  ({ gw, record } = await startSchemaGateway('up', TOOLS));
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => writeFileSync(record, ''));

describe('uniqueItems over a large array of objects', () => {
  it('is checked in linear time: a neighbour is answered meanwhile', async () => {
    const attacker = await gw.agent('agent');
    const neighbour = await gw.agent('agent');
    // 40,000 distinct objects (about 450 KB): quadratic, this was minutes of a frozen event loop.
    const rows = Array.from({ length: 40_000 }, (_, a) => ({ a }));
    const started = Date.now();
    const big = attacker.client.callTool({ name: 'up__tag', arguments: { rows } }, undefined, {
      timeout: 120_000,
    });
    await new Promise((r) => setTimeout(r, 50));
    const asked = Date.now();
    const answered = await neighbour.client.callTool({ name: 'up__ping', arguments: {} });
    const waited = Date.now() - asked;
    expect(denialCode(answered)).toBeUndefined();
    expect(denialCode(await big)).toBeUndefined();
    // Generous bounds on a shared machine; with the quadratic check both were about a minute here.
    expect(waited).toBeLessThan(10_000);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 150_000);

  it('still refuses a repeated item, however its keys are ordered', async () => {
    const agent = await gw.agent('agent');
    for (const args of [
      { rows: [{ a: 1 }, { a: 2 }, { a: 1 }] },
      { loose: [{ x: 1, y: [2] }, 'b', { y: [2], x: 1 }] },
      {
        loose: [
          [1, 2],
          [1, 2],
        ],
      },
    ]) {
      const result = await agent.client.callTool({ name: 'up__tag', arguments: args });
      expect(denialCode(result), JSON.stringify(args)).toBe('invalid_arguments');
    }
    expect(recorded(record)).toEqual([]);
    const fits = await agent.client.callTool({
      name: 'up__tag',
      arguments: { loose: [[1, 2], [2, 1], 'a'] },
    });
    expect(denialCode(fits)).toBeUndefined();
    expect(recorded(record)).toHaveLength(1);
  });
});
