/**
 * A zod server's defaults as zod itself writes them into the listed schema:
 * a schema with an id (`.meta({ id })`) is a `$ref` to `$defs`, its default
 * at the target, and `.default(x).nullable()` is a union whose string branch
 * holds the default. zod fills both when the agent leaves the argument out;
 * the gateway left them to it, so a `pattern` the policy put on `path` held
 * only when the agent sent a path. The schemas here come from zod.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { denialCode, recorded, type TestGateway } from '../helpers/harness.js';
import { startSchemaGateway } from '../helpers/schema-upstream.js';

const Path = z.string().default('/').meta({ id: 'Path' });
const LIST = z.object({ path: Path, sort: z.string().default('name').nullable() });
const inputSchema = z.toJSONSchema(LIST, { io: 'input' }) as Record<string, unknown>;

let gw: TestGateway;
let record: string;
beforeAll(async () => {
  ({ gw, record } = await startSchemaGateway('fs', [{ name: 'list', inputSchema }], {
    policy: `tools:
  fs:
    list:
      class: read
      arguments:
        path: { pattern: "^/srv/" }
        sort: { enum: [name, size] }
profiles:
  agent:
    tools: [fs__list]`,
  }));
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => {
  writeFileSync(record, '');
});

async function call(args: Record<string, unknown>): Promise<unknown> {
  const agent = await gw.agent('agent');
  return agent.client.callTool({ name: 'fs__list', arguments: args });
}

describe("a zod server's defaults", () => {
  it('lists the referenced default the way zod writes it (the premise)', () => {
    expect(inputSchema).toMatchObject({
      properties: { path: { $ref: '#/$defs/Path' } },
      $defs: { Path: { default: '/' } },
    });
  });

  it('are checked at a reference target: a left-out path that zod fills with "/" is refused', async () => {
    const result = await call({});
    expect(denialCode(result)).toBe('invalid_arguments');
    expect(JSON.stringify(result)).toContain('/path');
    expect(recorded(record)).toEqual([]);
  });

  it('reach the upstream explicitly, from the reference target and the nullable branch', async () => {
    const result = await call({ path: '/srv/a' });
    expect(denialCode(result)).toBeUndefined();
    expect(recorded(record)).toEqual([
      { server: 'schemas', tool: 'list', arguments: { path: '/srv/a', sort: 'name' } },
    ]);
  });
});
