/**
 * Policy as code: `bulkhead test` decides each case with the gateway's own
 * checks and no upstream, and fails the build on a changed decision;
 * `bulkhead policy schema` gives editors the policy's JSON Schema, derived
 * from the zod schema so the two cannot drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { policyJsonSchema } from '../../src/policy/json-schema.js';
import { bulkhead } from '../helpers/cli.js';
import { ROOT, tempDir } from '../helpers/harness.js';

const EXAMPLE_TESTS = join(ROOT, 'examples/support-desk/policy.test.yaml');
const EXAMPLE_POLICY = join(ROOT, 'examples/support-desk/policy.yaml');

const SMALL_POLICY = `
version: 1
upstreams:
  orders: { command: node, args: [orders.js] }
tools:
  orders:
    get_order_status:
      class: read
      arguments:
        order_id: { pattern: "^ORD-[0-9]{6}$" }
profiles:
  agent:
    tools: [orders__get_order_status]
    budgets: { tool_calls: 2 }
`;

const DEFINITIONS = `
definitions:
  orders:
    get_order_status:
      inputSchema: { type: object, properties: { order_id: { type: string } }, required: [order_id] }
`;

function suite(tests: string, policy = SMALL_POLICY): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'policy.yaml'), policy);
  const file = join(dir, 'policy.test.yaml');
  writeFileSync(file, `policy: policy.yaml\n${DEFINITIONS}\ntests:\n${tests}`);
  return file;
}

describe('bulkhead test', { timeout: 120_000 }, () => {
  it('passes the example policy tests', async () => {
    const result = await bulkhead(['test', EXAMPLE_TESTS]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  });

  it('exits 1 and names the case, what it expected and what it got, when a decision changed', async () => {
    const file = suite(`
  - name: SQL in an order id is allowed (wrong on purpose)
    profile: agent
    tool: orders__get_order_status
    arguments: { order_id: "1 OR 1=1" }
    expect: allow
`);
    const result = await bulkhead(['test', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'FAIL  SQL in an order id is allowed (wrong on purpose): expected allow, got deny invalid_arguments',
    );
    expect(result.stdout).toMatch(/^0 passed, 1 failed$/m);
  });

  it('counts earlier calls of the run against its budget', async () => {
    const file = suite(`
  - name: the third call of a two-call budget is refused
    profile: agent
    tool: orders__get_order_status
    before:
      - { tool: orders__get_order_status, arguments: { order_id: ORD-000001 } }
      - { tool: orders__get_order_status, arguments: { order_id: ORD-000002 } }
    arguments: { order_id: ORD-000003 }
    expect: { deny: budget_exhausted }
`);
    const result = await bulkhead(['test', file, '--json']);
    const report = JSON.parse(result.stdout) as {
      passed: number;
      failed: number;
      results: { got: unknown }[];
    };
    expect(report.results[0]?.got).toMatchObject({ decision: 'deny', code: 'budget_exhausted' });
    expect(report).toMatchObject({ passed: 1, failed: 0 });
    expect(result.code).toBe(0);
  });

  it('reports a malformed test file with file, line and column, exit 2', async () => {
    const file = suite(`
  - name: a case with a typo
    profile: agent
    tool: orders__get_order_status
    expcet: allow
`);
    const result = await bulkhead(['test', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/policy\.test\.yaml:\d+:\d+: tests\.0: unknown key "expcet"/);
  });

  it('treats a profile the policy does not have as a failed case, not a crash', async () => {
    const file = suite(`
  - name: a profile that does not exist
    profile: ghost
    tool: orders__get_order_status
    arguments: { order_id: ORD-000001 }
    expect: allow
`);
    const result = await bulkhead(['test', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('got deny not_found');
  });
});

describe('bulkhead policy schema', { timeout: 120_000 }, () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });

  it('accepts the example policy', () => {
    const validate = ajv.compile(policyJsonSchema());
    expect(validate(parse(readFileSync(EXAMPLE_POLICY, 'utf8')))).toBe(true);
  });

  it('rejects a misspelled key, as the loader does', () => {
    const validate = ajv.compile(policyJsonSchema());
    const policy = parse(readFileSync(EXAMPLE_POLICY, 'utf8')) as {
      profiles: Record<string, Record<string, unknown>>;
    };
    (policy.profiles['support-agent'] as Record<string, unknown>).budjets = {};
    expect(validate(policy)).toBe(false);
  });

  it('prints the same schema the editor file holds (run `npm run policy:schema` after changing the schema)', async () => {
    const result = await bulkhead(['policy', 'schema']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(
      JSON.parse(readFileSync(join(ROOT, 'docs/policy.schema.json'), 'utf8')),
    );
  });
});
