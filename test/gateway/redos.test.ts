/**
 * Patterns cannot stall the gateway (issue 13, point 3). Every pattern, the
 * policy's and the upstream's, runs with RE2 semantics (linear time); a
 * pattern RE2 cannot run is refused where it is loaded: at policy load with
 * its file position, or by keeping the upstream's tool out of the catalog.
 *
 * Under a backtracking engine each attack below runs for minutes (the time
 * doubles per character): the bounds here are generous on a shared machine
 * and still orders of magnitude under that.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/gateway/catalog.js';
import { PolicyError, parsePolicy } from '../../src/policy/load.js';
import { toolRule } from '../../src/policy/schema/tool.js';
import { denialCode, recorded, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { schemaUpstream } from '../helpers/schema-upstream.js';

/** Patterns that backtrack exponentially or polynomially in JavaScript's engine. */
const EVIL = [
  ['nested plus', '^([a-z ]+)+$', `${'a'.repeat(34)}!`],
  ['nested star', '^(a*)*$', `${'a'.repeat(34)}!`],
  ['overlapping alternation', '^(a|a)+$', `${'a'.repeat(34)}!`],
  ['overlapping classes', '^(\\w|\\d)+$', `${'1'.repeat(34)}!`],
  [
    'e-mail-like',
    '^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$',
    `${'a'.repeat(40)}!`,
  ],
  ['polynomial', '^\\s*a\\s*\\s*\\s*b$', `a${' '.repeat(20_000)}`],
] as const;

const EVIL_TOOLS = EVIL.map((_, i) => ({
  name: `t${i}`,
  inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
}));

/** The upstream itself declares a catastrophic pattern, and one RE2 cannot run. */
const HOSTILE_UPSTREAM = [
  {
    name: 'lookup',
    inputSchema: { type: 'object', properties: { id: { type: 'string', pattern: '^(a+)+$' } } },
  },
  {
    name: 'lookaround',
    inputSchema: { type: 'object', properties: { id: { type: 'string', pattern: '^(?=(a+))\\1b$' } } },
  },
];

function policy(record: string): string {
  const rules = EVIL.map(
    ([, pattern], i) =>
      `    t${i}:\n      class: read\n      arguments:\n        q: { pattern: ${JSON.stringify(pattern)} }`,
  );
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('evil', EVIL_TOOLS, { record })}
${schemaUpstream('hostile', HOSTILE_UPSTREAM, { record })}
tools:
  evil:
${rules.join('\n')}
  hostile:
    lookup: { class: read }
    lookaround: { class: read }
profiles:
  agent:
    tools: [${EVIL.map((_, i) => `evil__t${i}`).join(', ')}, hostile__lookup, hostile__lookaround]
`;
}

describe('policy and upstream patterns run in linear time', () => {
  let gw: TestGateway;
  let record: string;
  beforeAll(async () => {
    const dir = tempDir();
    record = join(dir, 'received.jsonl');
    gw = await startTestGateway(policy(record), { dir });
  });
  afterAll(async () => {
    await gw?.close();
  });

  for (const [i, [name, pattern, input]] of EVIL.entries()) {
    it(`answers a hostile argument for a ${name} policy pattern (${pattern.slice(0, 24)}) at once, and refuses it`, async () => {
      const agent = await gw.agent('agent');
      const started = performance.now();
      const result = await agent.client.callTool({ name: `evil__t${i}`, arguments: { q: input } });
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(denialCode(result)).toBe('invalid_arguments');
    });
  }

  it('keeps serving other agents while hostile arguments arrive', async () => {
    const [attacker, bystander] = await Promise.all([gw.agent('agent'), gw.agent('agent')]);
    const flood = Array.from({ length: 8 }, () =>
      attacker.client.callTool({ name: 'evil__t0', arguments: { q: `${'a '.repeat(5_000)}!` } }),
    );
    const started = performance.now();
    const ok = await bystander.client.callTool({ name: 'evil__t0', arguments: { q: 'hello world' } });
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(denialCode(ok)).toBeUndefined();
    for (const r of await Promise.all(flood)) expect(denialCode(r)).toBe('invalid_arguments');
  });

  it("runs an upstream schema's catastrophic pattern in linear time", async () => {
    const agent = await gw.agent('agent');
    const started = performance.now();
    const result = await agent.client.callTool({
      name: 'hostile__lookup',
      arguments: { id: `${'a'.repeat(40)}!` },
    });
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(denialCode(result)).toBe('invalid_arguments');
    const fits = await agent.client.callTool({ name: 'hostile__lookup', arguments: { id: 'aaaa' } });
    expect(denialCode(fits)).toBeUndefined();
  });

  it('withholds an upstream tool whose pattern RE2 cannot run, and says why in the log', async () => {
    const agent = await gw.agent('agent');
    const { tools } = await agent.client.listTools();
    expect(tools.map((t) => t.name)).not.toContain('hostile__lookaround');
    expect(tools.map((t) => t.name)).toContain('hostile__lookup');
    expect(gw.readLog()).toContain('lookaround');
    expect(recorded(record).filter((r) => r.tool === 'lookaround')).toEqual([]);
  });
});

describe('a pattern RE2 cannot run is refused at load, with its position', () => {
  const base = (pattern: string, where: 'argument' | 'condition') => `version: 1
upstreams:
  orders:
    command: node
tools:
  orders:
    lookup:
      class: read
${
  where === 'argument'
    ? `      arguments:\n        id: { pattern: ${JSON.stringify(pattern)} }`
    : `      approval:\n        when: [{ arg: id, matches: ${JSON.stringify(pattern)} }]`
}
profiles:
  agent:
    tools: [orders__lookup]
`;
  const errorsOf = (text: string) => {
    try {
      parsePolicy(text, 'p.yaml');
      return '';
    } catch (error) {
      if (error instanceof PolicyError) return error.message;
      throw error;
    }
  };

  for (const [name, pattern] of [
    ['a backreference (exponential in any backtracking engine)', '^(a+)\\1+$'],
    ['a lookahead', '^(?=(a+)+b)a'],
    ['a negative lookbehind', '(?<!x)(a|aa)+$'],
  ] as const) {
    it(`refuses ${name} in an argument pattern`, () => {
      expect(errorsOf(base(pattern, 'argument'))).toMatch(
        /^p\.yaml:10:\d+: tools\.orders\.lookup\.arguments\.id\.pattern: .*RE2/,
      );
    });
    it(`refuses ${name} in an approval condition`, () => {
      expect(errorsOf(base(pattern, 'condition'))).toMatch(
        /^p\.yaml:10:\d+: tools\.orders\.lookup\.approval.*RE2/,
      );
    });
  }

  it('accepts the nested quantifier, which RE2 runs in linear time', () => {
    expect(errorsOf(base('^([a-z ]+)+$', 'argument'))).toBe('');
  });
});

describe('compiled patterns', () => {
  it('keeps each tool its own pattern (the engine is keyed per pattern)', () => {
    const catalog = new Catalog({
      rules: {
        up: {
          a: toolRule.parse({ class: 'read', arguments: { q: { pattern: '^a+$' } } }),
          b: toolRule.parse({ class: 'read', arguments: { q: { pattern: '^b+$' } } }),
        },
      },
    });
    const schema = { type: 'object' as const, properties: { q: { type: 'string' } } };
    catalog.update('up', [
      { name: 'a', inputSchema: schema },
      { name: 'b', inputSchema: schema },
    ]);
    expect(catalog.get('up__a')?.validate({ q: 'aaa' })).toBe(true);
    expect(catalog.get('up__a')?.validate({ q: 'bbb' })).toBe(false);
    expect(catalog.get('up__b')?.validate({ q: 'bbb' })).toBe(true);
    expect(catalog.get('up__b')?.validate({ q: 'aaa' })).toBe(false);
  });

  it('reads JavaScript \\u escapes in upstream patterns', () => {
    const catalog = new Catalog({ rules: { up: { a: toolRule.parse({ class: 'read' }) } } });
    catalog.update('up', [
      {
        name: 'a',
        inputSchema: {
          type: 'object',
          properties: { q: { type: 'string', pattern: '^[\\u0041-\\u005A]+$' } },
        },
      },
    ]);
    expect(catalog.get('up__a')?.validate({ q: 'ABC' })).toBe(true);
    expect(catalog.get('up__a')?.validate({ q: 'abc' })).toBe(false);
  });
});
