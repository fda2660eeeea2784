/**
 * Defaults an upstream declares in its schema are values it applies to what
 * the agent left out. Checked and approved without them, a call ran with
 * values nobody checked or saw: a policy's `maximum: 50` on `limit` held
 * only when the agent sent a limit (left out, the upstream used its default
 * of 1000), and an approver shown `{ table: "orders" }` approved a purge the
 * upstream then ran with its `dry_run: false`. The gateway applies the
 * upstream's defaults itself before the schema is checked, so they pass the
 * tightening, show in the approval and the audit, and reach the upstream
 * explicitly: what is checked and approved is what runs.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runHash } from '../../src/approvals/approval.js';
import { pendingFor } from '../helpers/approvals.js';
import { denialCode, recorded, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { schemaUpstream } from '../helpers/schema-upstream.js';

const SEARCH = {
  name: 'search',
  inputSchema: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      limit: { type: 'integer', default: 1000 },
      sort: { type: 'string', default: 'name' },
      // How FastMCP writes an optional argument: null is "none given", not a value.
      region: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null },
      filter: {
        type: 'object',
        properties: { scope: { type: 'string', default: 'all' } },
      },
    },
    required: ['name'],
  },
};
const PURGE = {
  name: 'purge',
  inputSchema: {
    type: 'object',
    properties: { table: { type: 'string' }, dry_run: { type: 'boolean', default: false } },
    required: ['table'],
  },
};

const ALICE = 'bho_alice-token-for-tests-0001';

let gw: TestGateway;
let record: string;
beforeAll(async () => {
  const dir = tempDir();
  record = join(dir, 'received.jsonl');
  gw = await startTestGateway(
    `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('crm', [SEARCH, PURGE], { record })}
tools:
  crm:
    search:
      class: read
      arguments:
        limit: { maximum: 50 }
        region: { pattern: "^[a-z]{2}$" }
        filter:
          properties:
            scope: { enum: [mine] }
    purge:
      class: irreversible
      approval: { timeout: 2s, approvers: [approver], allow_edit: true }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
profiles:
  agent:
    tools: [crm__search, crm__purge]
`,
    { dir, env: { ALICE } },
  );
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => {
  writeFileSync(record, '');
});

describe("an upstream's schema defaults", () => {
  it('are checked against the tightening: a left-out limit whose default exceeds the maximum is refused', async () => {
    const agent = await gw.agent('agent');
    const result = await agent.client.callTool({ name: 'crm__search', arguments: { name: 'Ada', limit: 5 } });
    expect(denialCode(result)).toBeUndefined();
    writeFileSync(record, '');
    const left = await agent.client.callTool({ name: 'crm__search', arguments: { name: 'Ada' } });
    expect(denialCode(left)).toBe('invalid_arguments');
    expect(JSON.stringify(left)).toContain('/limit');
    expect(recorded(record)).toEqual([]);
  });

  it('are checked inside nested objects too', async () => {
    const agent = await gw.agent('agent');
    const result = await agent.client.callTool({
      name: 'crm__search',
      arguments: { name: 'Ada', limit: 5, filter: {} },
    });
    expect(denialCode(result)).toBe('invalid_arguments');
    expect(JSON.stringify(result)).toContain('/filter/scope');
    expect(recorded(record)).toEqual([]);
  });

  it('reach the upstream explicitly, except a null default, which says none was given', async () => {
    const agent = await gw.agent('agent');
    const result = await agent.client.callTool({
      name: 'crm__search',
      arguments: { name: 'Ada', limit: 5, filter: { scope: 'mine' } },
    });
    expect(denialCode(result)).toBeUndefined();
    expect(recorded(record)).toEqual([
      {
        server: 'schemas',
        tool: 'search',
        arguments: { name: 'Ada', limit: 5, sort: 'name', filter: { scope: 'mine' } },
      },
    ]);
  });

  it('show in the arguments an approver is asked to approve', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({ name: 'crm__purge', arguments: { table: 'orders' } });
    let held: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !held; i++) {
      const pending = await gw.gateway.store.approvals.list({ state: 'pending' });
      held = pending.find((a) => a.runId === agent.runId)?.arguments;
      if (!held) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(held).toEqual({ table: 'orders', dry_run: false });
    expect(denialCode(await call)).toBe('approval_timeout');
  });

  it("are filled in an approver's edited arguments, which then run with them explicitly", async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({ name: 'crm__purge', arguments: { table: 'orders', dry_run: true } });
    const held = await pendingFor(gw.gateway, agent.runId);
    const response = await fetch(`${gw.gateway.url}/api/approvals/${held.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: { table: 'orders' }, args_hash: runHash(held) }),
    });
    expect(response.status).toBe(200);
    expect(denialCode(await call)).toBeUndefined();
    expect(recorded(record)).toEqual([
      { server: 'schemas', tool: 'purge', arguments: { table: 'orders', dry_run: false } },
    ]);
    expect((await gw.gateway.store.approvals.get(held.id))?.editedArguments).toEqual({
      table: 'orders',
      dry_run: false,
    });
  });
});
