import { describe, expect, it } from 'vitest';
import { PolicyError, parsePolicy } from './load.js';

const BASE = `version: 1
upstreams:
  orders:
    command: node
    args: [orders.js]
    env:
      TOKEN: { secret: ORDERS_TOKEN }
tools:
  orders:
    get_order_status:
      class: read
      arguments:
        order_id: { pattern: "^ORD-[0-9]{6}$" }
profiles:
  support:
    tools: [orders__get_order_status]
`;

function errorsOf(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (error) {
    if (error instanceof PolicyError) return error.message.split('\n');
    throw error;
  }
  return [];
}

describe('policy loading', () => {
  it('accepts the base policy and fills defaults', () => {
    const policy = parsePolicy(BASE, 'p.yaml');
    expect(policy.store).toEqual({ sqlite: 'bulkhead.db' });
    expect(policy.tools.orders?.get_order_status?.additional_properties).toBe(false);
    expect(policy.profiles.support?.run_ttl).toBe(3_600_000);
  });

  const broken: [string, string, string][] = [
    [
      'a misspelt enum value',
      BASE.replace('class: read', 'class: reed'),
      'p.yaml:11:14: tools.orders.get_order_status.class: expected "read" or "write" or "irreversible" or "external", found "reed"',
    ],
    [
      'an unknown key (a typo never silently disables a control)',
      BASE.replace('class: read', 'class: read\n      aproval: always'),
      'p.yaml:12:7: tools.orders.get_order_status: unknown key "aproval"',
    ],
    [
      'a literal where a secret reference belongs in a misspelt reference',
      BASE.replace('{ secret: ORDERS_TOKEN }', '{ secrt: ORDERS_TOKEN }'),
      'p.yaml:7:16: upstreams.orders.env.TOKEN: unknown key "secrt"',
    ],
    [
      'a duration without a unit',
      `${BASE}    budgets: { wall_clock: 10 }\n`,
      'p.yaml:17:28: profiles.support.budgets.wall_clock: expected string, found 10',
    ],
    [
      'a duration in words',
      `${BASE}    budgets: { wall_clock: 10 minutes }\n`,
      'p.yaml:17:28: profiles.support.budgets.wall_clock: expected a duration such as 30s, 10m or 2h, found "10 minutes"',
    ],
    [
      'a negative cap',
      `${BASE}    budgets: { tool_calls: -5 }\n`,
      'p.yaml:17:28: profiles.support.budgets.tool_calls: expected number to be >0, found -5',
    ],
    [
      'a size of zero written with a unit (a tmpfs of size 0 has no limit)',
      `${BASE}    sandbox: { tmp_size: 0M }\n`,
      'p.yaml:17:26: profiles.support.sandbox.tmp_size: a size of at least one byte (0 would mean no limit), found "0M"',
    ],
    [
      'a size that rounds to zero bytes',
      `${BASE}    sandbox: { memory: "0.4" }\n`,
      'p.yaml:17:24: profiles.support.sandbox.memory: a size of at least one byte (0 would mean no limit), found "0.4"',
    ],
    [
      'an egress wildcard over a whole TLD',
      `${BASE}    egress: ["*.com:443"]\n`,
      'p.yaml:17:14: profiles.support.egress.0: a wildcard needs a registrable domain: *.com would allow the whole TLD, found "*.com:443"',
    ],
    [
      'an egress entry without a port',
      `${BASE}    egress: [api.example.com]\n`,
      'p.yaml:17:14: profiles.support.egress.0: expected host:port, e.g. api.example.com:443 or *.example.com:443, found "api.example.com"',
    ],
    [
      'a profile naming a tool that is not exposed',
      BASE.replace('tools: [orders__get_order_status]', 'tools: [orders__run_sql]'),
      'p.yaml:16:13: profiles.support.tools.0: no exposed tool named "orders__run_sql"',
    ],
    [
      'a profile naming a tool with the wrong case, with a hint',
      BASE.replace('tools: [orders__get_order_status]', 'tools: [Orders__Get_Order_Status]'),
      'p.yaml:16:13: profiles.support.tools.0: no exposed tool named "Orders__Get_Order_Status"; did you mean "orders__get_order_status"?',
    ],
    [
      'tool rules for an undeclared upstream',
      BASE.replace('tools:\n  orders:', 'tools:\n  billing:\n    charge: { class: irreversible }\n  orders:'),
      'p.yaml:9:3: tools.billing: no upstream named "billing" is declared',
    ],
    [
      'an invalid regular expression',
      BASE.replace('"^ORD-[0-9]{6}$"', '"^ORD-[0-9"'),
      'p.yaml:13:30: tools.orders.get_order_status.arguments.order_id.pattern: a linear-time (RE2) pattern: missing closing ]: `[0-9` (patterns run with RE2 semantics: no lookaround, no backreferences), found "^ORD-[0-9"',
    ],
    [
      'a duplicate key',
      BASE.replace('    args: [orders.js]', '    args: [orders.js]\n    args: [x.js]'),
      'p.yaml:6:5: duplicate key: each key may appear once',
    ],
    ['a missing version', BASE.replace('version: 1\n', ''), 'p.yaml:1:1: version: expected 1, found nothing'],
    [
      'an upstream URL with a non-HTTP scheme',
      BASE.replace(
        '  orders:\n    command: node\n    args: [orders.js]\n    env:\n      TOKEN: { secret: ORDERS_TOKEN }',
        '  orders:\n    url: ftp://x.example.com/mcp',
      ),
      'p.yaml:4:10: upstreams.orders.url: expected an http or https URL, found "ftp://x.example.com/mcp"',
    ],
  ];

  for (const [name, text, expected] of broken) {
    it(`reports ${name} with file, line and column`, () => {
      expect(errorsOf(text)).toContain(expected);
    });
  }

  it('reports every problem of a file at once', () => {
    const text = BASE.replace('class: read', 'class: reed').replace(
      '{ secret: ORDERS_TOKEN }',
      '{ secrt: X }',
    );
    const errors = errorsOf(text);
    expect(errors.some((e) => e.includes('found "reed"'))).toBe(true);
    expect(errors.some((e) => e.includes('unknown key "secrt"'))).toBe(true);
  });

  it('reports YAML syntax errors with their position', () => {
    const [first] = errorsOf('version: 1\nupstreams: [\n');
    expect(first).toMatch(/^p\.yaml:\d+:\d+: YAML: /);
  });

  it('parses sizes, rates and durations into numbers', () => {
    const policy = parsePolicy(
      `${BASE}    budgets: { wall_clock: 90s, per_tool: { orders__get_order_status: { rate: 5/hour } } }\n    sandbox: { memory: 256M }\n`,
    );
    const support = policy.profiles.support;
    expect(support?.budgets.wall_clock).toBe(90_000);
    expect(support?.budgets.per_tool.orders__get_order_status?.rate).toEqual({ count: 5, perMs: 3_600_000 });
    expect(support?.sandbox.memory).toBe(256 * 1024 * 1024);
  });
});
