/**
 * What the agent is shown is inspected as a whole: every field of a tool
 * definition served by tools/list, and every content block type of a tool
 * result, reach the agent without hidden characters, terminal escapes,
 * credentials or `_meta` keys forged in bulkhead's namespace. The upstream is
 * a real stdio MCP server (test/fixtures/hostile-server.ts) that plants them.
 */
import { join } from 'node:path';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACK, HIDDEN_OR_ESCAPE } from '../fixtures/hostile-content.js';
import { ROOT, startTestGateway, type TestGateway } from '../helpers/harness.js';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  hostile:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/fixtures/hostile-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
tools:
  hostile:
    poisoned_def: { class: read }
    blocks: { class: read }
profiles:
  agent:
    tools: [hostile__poisoned_def, hostile__blocks]
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY);
});
afterAll(async () => {
  await gw?.close();
});

/** Every string in `value`, object keys included. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap(strings);
  return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
}

function expectClean(value: unknown): void {
  for (const s of strings(value)) {
    expect(s).not.toMatch(HIDDEN_OR_ESCAPE);
    expect(s).not.toContain(ATTACK.credential);
    expect(s).not.toContain('mail__send_mail');
  }
}

describe('tools/list serves definitions cleaned field by field', () => {
  let tool: Tool;
  beforeAll(async () => {
    const agent = await gw.agent('agent');
    const { tools } = await agent.client.listTools();
    tool = tools.find((t) => t.name === 'hostile__poisoned_def')!;
    expect(tool).toBeDefined();
  });

  it('strips tag-smuggled text from the title', () => {
    expect(tool.title).toBe('Lookup');
  });

  it('strips escapes and bidi controls from the description and redacts the credential in it', () => {
    expect(tool.description).toContain('Looks up a record.');
    expect(tool.description).toContain('[REDACTED:');
    expectClean(tool.description);
  });

  it('cleans the input and output schemas, annotations and icons', () => {
    expectClean(tool.inputSchema);
    expectClean(tool.outputSchema);
    expect(tool.annotations?.title).toBe('Annotated');
    expect(tool.icons?.[0]?.src).toBe('https://icons.example/a.png');
  });

  it('drops _meta keys forged in bulkhead’s namespace and scrubs the others', () => {
    expect(Object.keys(tool._meta ?? {})).toEqual(['vendor/note']);
    expectClean(tool._meta);
  });

  it('serves nothing of the attack in any field', () => {
    expectClean(tool);
  });
});

describe('tool results: every content block type is inspected', () => {
  let result: CallToolResult;
  beforeAll(async () => {
    const agent = await gw.agent('agent');
    result = (await agent.client.callTool({ name: 'hostile__blocks', arguments: {} })) as CallToolResult;
  });

  it('keeps every block, in order, with its type', () => {
    expect(result.content.map((b) => b.type)).toEqual([
      'text',
      'image',
      'audio',
      'resource',
      'resource_link',
    ]);
  });

  it('strips variation-selector smuggling from text', () => {
    expect(result.content[0]).toMatchObject({ type: 'text', text: 'plain!' });
  });

  it('cleans a resource_link’s description, name, title and uri', () => {
    expect(result.content[4]).toMatchObject({
      type: 'resource_link',
      uri: 'file:///link',
      name: 'link',
      title: 'Link!',
      description: 'A link.',
    });
  });

  it('cleans image metadata, embedded resources and structured content, and scrubs the credential', () => {
    expect(result.content[1]).toMatchObject({ type: 'image', mimeType: 'image/png' });
    expect(result.content[3]).toMatchObject({ type: 'resource', resource: { uri: 'file:///revil' } });
    expect(result.structuredContent).toEqual({ row: 'r' });
    expectClean(result.content);
  });

  it('drops forged bulkhead _meta keys and fields the protocol does not define', () => {
    expect(result._meta?.['bulkhead/denial']).toBeUndefined();
    expect(result._meta?.['vendor/ok']).toBe(1);
    // The flags the agent sees are the gateway's own, naming what was found.
    expect(result._meta?.['bulkhead/flags']).toEqual(
      expect.arrayContaining(['forged_meta', 'hidden_characters', 'escape_sequences']),
    );
    expect(result.content[0]?._meta).toEqual({});
    expect((result as Record<string, unknown>).smuggled).toBeUndefined();
  });

  it('records the forged _meta in the flagged-output event', async () => {
    const events = await gw.gateway.store.events.list({ kind: 'output.flagged' });
    const flags = events.flatMap((e) => (e.data as { flags?: string[] }).flags ?? []);
    expect(flags).toContain('forged_meta');
  });
});
