import { describe, expect, it } from 'vitest';
import { broaderThanRegistrable, type LintFinding, lintPolicy, looksLikeCredential } from './lint.js';
import { parsePolicy } from './load.js';

function lint(text: string): LintFinding[] {
  return lintPolicy(parsePolicy(text), text);
}

/** A clean policy: every check passes. Each case below breaks exactly one thing. */
const CLEAN = `version: 1
upstreams:
  db:
    command: x
    env:
      TOKEN: { secret: DB_TOKEN }
  mail:
    command: y
    env:
      KEY: { secret: MAIL_KEY }
tools:
  db:
    get_order: { class: read }
    list_orders: { class: read }
    update_note: { class: write }
    refund: { class: irreversible, approval: always }
  mail:
    send: { class: external, approval: { when: tainted } }
profiles:
  agent:
    tools: [db__get_order, db__list_orders, db__update_note, db__refund, mail__send]
    budgets: { tool_calls: 50, wall_clock: 10m }
    egress: ["*.example.co.uk:443", "api.github.com:443"]
`;

const LLM = `llm:
  base_url: https://llm.example.com
  api_key: { secret: LLM_KEY }
  prices:
    claude-a: { input: 3, output: 15 }
`;

const CASES: { name: string; policy: string; expected: Omit<LintFinding, 'message'> | null }[] = [
  { name: 'a clean policy has no findings', policy: CLEAN, expected: null },
  {
    name: 'an irreversible tool exposed without a gate',
    policy: CLEAN.replace(
      'refund: { class: irreversible, approval: always }',
      'refund: { class: irreversible }',
    ),
    expected: { id: 'ungated_irreversible', severity: 'high', path: 'tools.db.refund', line: 16, column: 5 },
  },
  {
    name: 'an external tool exposed without a gate',
    policy: CLEAN.replace(
      'send: { class: external, approval: { when: tainted } }',
      'send: { class: external }',
    ),
    expected: { id: 'external_held_by_flow', severity: 'low', path: 'tools.mail.send', line: 18, column: 5 },
  },
  {
    name: 'an external tool ungated in a profile that allows it when tainted',
    policy: CLEAN.replace(
      'send: { class: external, approval: { when: tainted } }',
      'send: { class: external }',
    ).replace('    egress:', '    flow: { tainted_external: allow }\n    egress:'),
    expected: { id: 'ungated_external', severity: 'high', path: 'tools.mail.send', line: 18, column: 5 },
  },
  {
    name: 'an ungated external tool in a profile that reads private data and lets it out',
    policy: CLEAN.replace(
      'send: { class: external, approval: { when: tainted } }',
      'send: { class: external }',
    )
      .replace('get_order: { class: read }', 'get_order: { class: read, sources: private }')
      .replace('    egress:', '    flow: { private_external: allow }\n    egress:'),
    expected: { id: 'ungated_external', severity: 'high', path: 'tools.mail.send', line: 18, column: 5 },
  },
  {
    name: 'private_external: allow is no leak where the profile reads nothing private',
    policy: CLEAN.replace(
      'send: { class: external, approval: { when: tainted } }',
      'send: { class: external }',
    ).replace('    egress:', '    flow: { private_external: allow }\n    egress:'),
    expected: { id: 'external_held_by_flow', severity: 'low', path: 'tools.mail.send', line: 18, column: 5 },
  },
  {
    name: 'more than a quarter of a profile gated always',
    policy: CLEAN.replace('update_note: { class: write }', 'update_note: { class: write, approval: always }'),
    expected: { id: 'coarse_gating', severity: 'medium', path: 'profiles.agent.tools', line: 21, column: 5 },
  },
  {
    name: 'one secret shared by two upstreams',
    policy: CLEAN.replace('KEY: { secret: MAIL_KEY }', 'KEY: { secret: DB_TOKEN }'),
    expected: {
      id: 'shared_credential',
      severity: 'medium',
      path: 'upstreams.mail.env.KEY',
      line: 10,
      column: 7,
    },
  },
  {
    name: 'a profile without budgets',
    policy: CLEAN.replace('    budgets: { tool_calls: 50, wall_clock: 10m }\n', ''),
    expected: { id: 'no_budgets', severity: 'medium', path: 'profiles.agent', line: 20, column: 3 },
  },
  {
    name: 'a wildcard over a multi-part public suffix',
    policy: CLEAN.replace('*.example.co.uk:443', '*.co.uk:443'),
    expected: {
      id: 'broad_wildcard',
      severity: 'high',
      path: 'profiles.agent.egress.0',
      line: 23,
      column: 14,
    },
  },
  {
    name: 'a wildcard over a private public suffix',
    policy: CLEAN.replace('*.example.co.uk:443', '*.github.io:443'),
    expected: {
      id: 'broad_wildcard',
      severity: 'high',
      path: 'profiles.agent.egress.0',
      line: 23,
      column: 14,
    },
  },
  {
    name: 'a literal GitHub token in an env value',
    policy: CLEAN.replace('TOKEN: { secret: DB_TOKEN }', 'TOKEN: ghp_R4nd0mL00k1ngT0k3nV4lu3xyzABCDEF12'),
    expected: { id: 'literal_secret', severity: 'high', path: 'upstreams.db.env.TOKEN', line: 6, column: 7 },
  },
  {
    name: 'a literal high-entropy password in a header',
    policy: CLEAN.replace(
      '  mail:\n    command: y\n    env:\n      KEY: { secret: MAIL_KEY }',
      '  mail:\n    url: https://mail.internal/mcp\n    headers:\n      X-Api-Key: "q8Vz3LmW9pR2tY7uK4nB6xC1"',
    ),
    expected: {
      id: 'literal_secret',
      severity: 'high',
      path: 'upstreams.mail.headers.X-Api-Key',
      line: 10,
      column: 7,
    },
  },
  {
    name: 'a password inside a URL argument',
    policy: CLEAN.replace(
      'command: x',
      'command: x\n    args: ["postgresql://app:s3cretPassw0rd@db:5432/orders"]',
    ),
    expected: { id: 'literal_secret', severity: 'high', path: 'upstreams.db.args.0', line: 5, column: 12 },
  },
  {
    name: 'a USD budget over a model without a price',
    policy: `${CLEAN.replace('wall_clock: 10m }', 'wall_clock: 10m, usd: 5 }\n    llm: { models: [claude-a, claude-b] }')}${LLM}`,
    expected: {
      id: 'llm_unpriced_model',
      severity: 'high',
      path: 'profiles.agent.llm.models',
      line: 23,
      column: 12,
    },
  },
  {
    name: 'a USD budget with any model allowed',
    policy: `${CLEAN.replace('wall_clock: 10m }', 'wall_clock: 10m, usd: 5 }')}${LLM}`,
    expected: {
      id: 'llm_unpriced_model',
      severity: 'medium',
      path: 'profiles.agent.budgets.usd',
      line: 22,
      column: 49,
    },
  },
  {
    name: 'an LLM side door opened (an MCP connector URL)',
    policy: `${CLEAN.replace('wall_clock: 10m }', 'wall_clock: 10m }\n    llm: { mcp_servers: [https://mcp.example.com/sse] }')}${LLM}`,
    expected: { id: 'llm_side_door', severity: 'medium', path: 'profiles.agent.llm', line: 23, column: 5 },
  },
];

describe('policy lint', () => {
  for (const c of CASES) {
    it(`reports ${c.name}`, () => {
      const findings = lint(c.policy).map(({ message: _, ...rest }) => rest);
      expect(findings).toEqual(c.expected ? [c.expected] : []);
    });
  }

  it('says how to fix each finding in its message', () => {
    const [finding] = lint(
      CLEAN.replace('refund: { class: irreversible, approval: always }', 'refund: { class: irreversible }'),
    );
    expect(finding?.message).toMatch(/add approval/);
  });

  it('does not flag a tool that is exposed to no profile', () => {
    const policy = CLEAN.replace(
      'refund: { class: irreversible, approval: always }',
      'refund: { class: irreversible }',
    ).replace(', db__refund', '');
    expect(lint(policy).map((f) => f.id)).not.toContain('ungated_irreversible');
  });
});

describe('registrable domains', () => {
  it.each([
    ['com', true],
    ['co.uk', true],
    ['github.io', true],
    ['example.co.uk', false],
    ['example.com', false],
    ['api.example.com', false],
  ])('%s is broader than a registrable domain: %s', (domain, broad) => {
    expect(broaderThanRegistrable(domain)).toBe(broad);
  });
});

describe('literal credentials', () => {
  it.each([
    ['LOG_LEVEL', 'debug'],
    ['ORDERS_DB', '.bulkhead/orders.db'],
    ['BASE_URL', 'https://api.example.com/v1'],
    ['MODE', 'read-only'],
  ])('leaves %s=%s alone', (key, value) => {
    expect(looksLikeCredential(key, value)).toBeNull();
  });

  it.each([
    ['X', 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123'],
    ['X', 'AKIAIOSFODNN7EXAMPLE'],
    ['X', 'xoxb-123456789012-abcdefghijkl'],
    ['Authorization', 'Bearer abcdefghijklmnop123'],
    ['DB_PASSWORD', 'hunter22hunter'],
  ])('flags %s=%s', (key, value) => {
    expect(looksLikeCredential(key, value)).not.toBeNull();
  });
});
