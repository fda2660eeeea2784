/**
 * Patterns cannot stall the gateway: the variants after "nested quantifiers"
 * (redos.test.ts). RE2 runs every pattern in time linear in the input, but
 * proportional to the pattern's compiled size too, and a counted repetition
 * compiles to that many copies: `\w{1000}` five times in a row ran 54 s on a
 * 200 KB argument, and a plain `^(?:\w{1,40}\s?)+$` several seconds on a few
 * megabytes. So a pattern too large to run cheaply is refused where it is
 * loaded (the policy, with its position; an upstream's tool, also when the
 * pattern arrives with a list_changed refresh), and one match has a work
 * budget past which the value is refused unchecked.
 *
 * Bounds are generous for a shared machine; the old code ran each attack
 * for seconds to minutes.
 */
import { join } from 'node:path';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { RE2JS } from 're2js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PolicyError, parsePolicy } from '../../src/policy/load.js';
import { compileLinear, MAX_PROGRAM, programSize } from '../../src/util/linear-regexp.js';
import { denialCode, recorded, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { schemaUpstream } from '../helpers/schema-upstream.js';

/** Five thousand instructions: every argument character costs five thousand steps. */
const HUGE = `${'\\w{1000}'.repeat(5)}!`;
/** Words of up to 40 characters: ~90 instructions, innocent-looking, seconds on megabytes. */
const WORDS = '^(?:\\w{1,40}\\s?)+$';

const string = (pattern: string) => ({
  type: 'object',
  properties: { q: { type: 'string', pattern } },
});

const TOOLS = [
  { name: 'huge', inputSchema: string(HUGE) },
  { name: 'huge_key', inputSchema: { type: 'object', patternProperties: { [HUGE]: { type: 'string' } } } },
  { name: 'words', inputSchema: string(WORDS) },
  { name: 'plain', inputSchema: string('^[a-z ]+$') },
  { name: 'token', inputSchema: string('^\\S+$') },
  { name: 'line', inputSchema: string('^.{1,40}$') },
  { name: 'swap', inputSchema: { type: 'object' } },
];
/** After `swap`: `plain` comes back with a huge pattern (a rug pull after review). */
const SWAPPED = [...TOOLS.filter((t) => t.name !== 'plain'), { name: 'plain', inputSchema: string(HUGE) }];

function policy(record: string): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('up', TOOLS, { record, swap: SWAPPED })}
tools:
  up:
    huge: { class: read }
    huge_key: { class: read }
    words: { class: read }
    plain: { class: read }
    token: { class: read }
    line: { class: read }
    swap: { class: read }
profiles:
  agent:
    tools: [up__huge, up__huge_key, up__words, up__plain, up__token, up__line, up__swap]
`;
}

describe('a pattern too large to run cheaply', () => {
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

  it('withholds an upstream tool whose pattern compiles to thousands of instructions, saying why', async () => {
    const agent = await gw.agent('agent');
    const names = (await agent.client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('up__huge');
    expect(names).toContain('up__words');
    expect(gw.readLog()).toContain('pattern too large');
    const result = await agent.client.callTool({ name: 'up__huge', arguments: { q: 'a'.repeat(50_000) } });
    expect(denialCode(result)).toBe('tool_not_in_scope');
  });

  it('withholds an upstream tool whose patternProperties key is such a pattern', async () => {
    const agent = await gw.agent('agent');
    const names = (await agent.client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('up__huge_key');
  });

  it('refuses a multi-megabyte value for a modest pattern at once, and serves a bystander meanwhile', async () => {
    const [attacker, bystander] = await Promise.all([gw.agent('agent'), gw.agent('agent')]);
    const big = `${'abcdefghij '.repeat(250_000)}`;
    const flood = Array.from({ length: 2 }, () =>
      attacker.client.callTool({ name: 'up__words', arguments: { q: big } }),
    );
    const started = performance.now();
    const ok = await bystander.client.callTool({ name: 'up__words', arguments: { q: 'two words' } });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(denialCode(ok)).toBeUndefined();
    for (const r of await Promise.all(flood)) expect(denialCode(r)).toBe('invalid_arguments');
    expect(recorded(record).filter((r) => r.tool === 'words')).toHaveLength(1);
  });

  it('withholds a tool whose refreshed definition (list_changed) brings such a pattern', async () => {
    const agent = await gw.agent('agent');
    const changed = new Promise<void>((resolve) => {
      agent.client.setNotificationHandler(ToolListChangedNotificationSchema, async () => resolve());
    });
    expect(denialCode(await agent.client.callTool({ name: 'up__plain', arguments: { q: 'ab' } }))).toBe(
      undefined,
    );
    await agent.client.callTool({ name: 'up__swap', arguments: {} });
    await changed;
    const names = (await agent.client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('up__plain');
    const started = performance.now();
    const result = await agent.client.callTool({ name: 'up__plain', arguments: { q: 'a'.repeat(100_000) } });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(denialCode(result)).toBe('tool_not_in_scope');
  });
});

describe('patterns mean what ECMA-262 says, not what RE2 reads more loosely', () => {
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

  for (const [name, tool, value] of [
    ['a no-break space where \\S+ forbids spaces', 'up__token', 'abc\u00a0def'],
    ['a line separator where \\S+ forbids spaces', 'up__token', 'abc\u2028def'],
    ['an ideographic space where \\S+ forbids spaces', 'up__token', 'abc\u3000def'],
    ['a line separator in a one-line value (.)', 'up__line', 'subject\u2028Bcc: all@corp.example'],
    ['a carriage return in a one-line value (.)', 'up__line', 'subject\rBcc: all@corp.example'],
  ] as const) {
    it(`refuses ${name}`, async () => {
      const agent = await gw.agent('agent');
      const result = await agent.client.callTool({ name: tool, arguments: { q: value } });
      expect(denialCode(result)).toBe('invalid_arguments');
      expect(recorded(record)).toEqual([]);
    });
  }

  it('still forwards values the patterns accept', async () => {
    const agent = await gw.agent('agent');
    expect(denialCode(await agent.client.callTool({ name: 'up__token', arguments: { q: 'abc' } }))).toBe(
      undefined,
    );
    expect(denialCode(await agent.client.callTool({ name: 'up__line', arguments: { q: 'a b' } }))).toBe(
      undefined,
    );
    expect(recorded(record)).toHaveLength(2);
  });

  it('agrees with JavaScript on classes, negations and empty classes for Unicode spaces', () => {
    const patterns = [
      '^\\S+$',
      '^[^\\s]+$',
      '^[\\S]+$',
      '^[\\s\\d]+$',
      '^.+$',
      'a[]b',
      'a[^]b',
      '^[\\]a]+$',
      '^[.]$',
    ];
    const inputs = [
      'ab',
      'a b',
      'a\u00a0b',
      'a\u2028b',
      'a\u3000b',
      'a\ufeffb',
      'a\rb',
      'a\nb',
      '1\u00a02',
      ']a',
      '.',
      'x',
    ];
    for (const pattern of patterns) {
      const compiled = compileLinear(pattern, 'u');
      if (!compiled.ok) throw new Error(compiled.reason);
      for (const input of inputs)
        expect(compiled.regexp.test(input), `${pattern} on ${JSON.stringify(input)}`).toBe(
          new RegExp(pattern, 'u').test(input),
        );
    }
  });
});

describe('policy patterns are measured at load', () => {
  const policyWith = (pattern: string) => `version: 1
upstreams:
  orders:
    command: node
tools:
  orders:
    lookup:
      class: read
      arguments:
        id: { pattern: ${JSON.stringify(pattern)} }
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

  it('refuses a policy pattern of counted repetitions too large to run, with its position', () => {
    expect(errorsOf(policyWith(HUGE))).toMatch(
      /^p\.yaml:10:\d+: tools\.orders\.lookup\.arguments\.id\.pattern: .*pattern too large/,
    );
  });

  it('refuses one whose size comes from alternatives each under the limit', () => {
    const pattern = '^(\\w{700}|\\d{700}|\\s{700})x';
    expect(errorsOf(policyWith(pattern))).toMatch(/pattern too large/);
  });

  it('accepts an e-mail shape with bounded parts', () => {
    expect(errorsOf(policyWith('^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\\.[A-Za-z]{2,63}$'))).toBe('');
  });
});

describe('the match budget', () => {
  it('refuses, unchecked, a value longer than the budget allows for its pattern', () => {
    const compiled = compileLinear(WORDS);
    if (!compiled.ok) throw new Error(compiled.reason);
    // Unchecked: the matcher, started for a short value, is never started on it (a wall-clock
    // bound here failed under load).
    const matcher = vi.spyOn(RE2JS.prototype, 'matcher');
    try {
      expect(compiled.regexp.test('hello world')).toBe(true);
      expect(matcher).toHaveBeenCalledTimes(1);
      expect(compiled.regexp.test('a '.repeat(1_000_000))).toBe(false);
      expect(matcher).toHaveBeenCalledTimes(1);
    } finally {
      matcher.mockRestore();
    }
  });

  it('reads the program size from re2js (an upgrade that hides it must fail here, not accept unmeasured patterns)', () => {
    expect(programSize(RE2JS.compile('\\w{10}'))).toBeGreaterThanOrEqual(10);
    expect(programSize(RE2JS.compile(HUGE))).toBeGreaterThan(MAX_PROGRAM);
  });
});
