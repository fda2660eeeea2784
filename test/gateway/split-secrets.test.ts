/**
 * An upstream's own injected credential handed back in pieces: each piece alone
 * is no secret, but the agent (and its model) reads neighbouring pieces joined.
 * Neighbouring text blocks of a tool result, its structured content's strings,
 * a resource's contents, a prompt's messages and the progress messages of one
 * call are read as one text; a credential split across them never reaches the
 * agent nor the audit trail. A real stdio upstream (fixtures/split-server.ts).
 */
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciiReading, foldLookAlikes } from '../../src/inspect/look-alikes.js';
import { ROOT, startTestGateway, type TestGateway } from '../helpers/harness.js';

const SECRET = 'canary-split-credential-4b7e1d9a03c5';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
gateway: { stream_responses: true }
upstreams:
  split:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/gateway/fixtures/split-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env:
      SPLIT_SECRET: { secret: SPLIT_SECRET }
tools:
  split:
    halves: { class: read }
    thirds: { class: read }
    eighths: { class: read }
    halves_error: { class: read }
    halves_resource: { class: read }
    halves_blob: { class: read }
    halves_image: { class: read }
    halves_structured: { class: read }
    lookalike: { class: read }
    lookalike_halves: { class: read }
    lookalike_structured: { class: read }
    progress_halves: { class: read }
    progress_eighths: { class: read }
    progress_then_result: { class: read }
    progress_lookalike: { class: read }
    compat: { class: read }
    compat_halves: { class: read }
    compat_structured: { class: read }
    progress_compat: { class: read }
    large_halves: { class: read, max_output: 1000000 }
profiles:
  agent:
    tools: [split__halves, split__thirds, split__eighths, split__halves_error, split__halves_resource, split__halves_blob, split__halves_image, split__halves_structured, split__lookalike, split__lookalike_halves, split__lookalike_structured, split__progress_halves, split__progress_eighths, split__progress_then_result, split__progress_lookalike, split__large_halves, split__compat, split__compat_halves, split__compat_structured, split__progress_compat]
    resources:
      - { upstream: split, uris: ["note://*"] }
    prompts: [split__split]
  spotlit:
    tools: [split__halves, split__eighths]
    spotlight: true
`;

let gw: TestGateway;
let client: Client;
let runId: string;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { env: { SPLIT_SECRET: SECRET } });
  const agent = await gw.agent('agent');
  client = agent.client;
  runId = agent.runId;
});
afterAll(async () => {
  await gw?.close();
});

/** Every string in a value, joined in order with nothing between: what a reader joining pieces sees. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return '';
  return Object.values(value).map(joined).join('');
}

async function expectAuditClean(): Promise<void> {
  const events = await gw.gateway.store.events.list({ runId, limit: 1000 });
  expect(JSON.stringify(events)).not.toContain(SECRET);
}

describe('a credential split across pieces of one answer', () => {
  it.each(['halves', 'thirds', 'eighths', 'halves_error', 'halves_resource', 'large_halves'])(
    '%s: the content blocks read joined never carry it',
    async (tool) => {
      const result = await client.callTool({ name: `split__${tool}`, arguments: {} });
      const texts = (result.content as { text?: string; resource?: { text?: string } }[]).map(
        (c) => c.text ?? c.resource?.text ?? '',
      );
      expect(texts.join('')).not.toContain(SECRET);
      await expectAuditClean();
    },
  );

  it.each(['halves', 'eighths'])(
    '%s: spotlighted blocks read joined without their markers never carry it',
    async (tool) => {
      const spotlit = await gw.agent('spotlit');
      const result = await spotlit.client.callTool({ name: `split__${tool}`, arguments: {} });
      const bodies = (result.content as { text: string }[]).map((c) =>
        c.text.replace(/^<<tool_output_data \w+>>\n/, '').replace(/\n<<end_tool_output_data \w+>>$/, ''),
      );
      expect(bodies[0]).not.toBe((result.content as { text: string }[])[0]?.text);
      expect(bodies.join('')).not.toContain(SECRET);
    },
  );

  it.each(['halves_blob', 'halves_image'])(
    '%s: base64 payloads decoded and read joined never carry it',
    async (tool) => {
      const result = await client.callTool({ name: `split__${tool}`, arguments: {} });
      const payloads = (result.content as { data?: string; resource?: { blob?: string } }[]).map((c) =>
        Buffer.from(c.data ?? c.resource?.blob ?? '', 'base64').toString('latin1'),
      );
      expect(payloads.join('')).not.toContain(SECRET);
      expect(JSON.stringify(result.content)).toContain('removed: it held a secret');
      await expectAuditClean();
    },
  );

  it.each(['lookalike', 'lookalike_halves', 'lookalike_structured'])(
    '%s: written in look-alike letters, read as what they look like, it never reaches the agent',
    async (tool) => {
      const result = await client.callTool({ name: `split__${tool}`, arguments: {} });
      expect(foldLookAlikes(joined(result.content) + joined(result.structuredContent))).not.toContain(SECRET);
      await expectAuditClean();
    },
  );

  it.each(['compat', 'compat_halves', 'compat_structured'])(
    '%s: written in mathematical and fullwidth forms, read as NFKC reads them, it never reaches the agent',
    async (tool) => {
      const result = await client.callTool({ name: `split__${tool}`, arguments: {} });
      const shown = joined(result.content) + joined(result.structuredContent);
      expect(shown).toContain('[REDACTED:secret]');
      expect(shown.normalize('NFKC')).not.toContain(SECRET);
      const events = JSON.stringify(await gw.gateway.store.events.list({ runId, limit: 1000 }));
      expect(asciiReading(events)?.text ?? events).not.toContain(SECRET);
    },
  );

  it('progress_compat: a progress message in mathematical letters never carries it', async () => {
    const messages: string[] = [];
    await client.callTool({ name: 'split__progress_compat', arguments: {} }, undefined, {
      onprogress: (p) => messages.push(p.message ?? ''),
    });
    expect(messages.length).toBe(1);
    expect(messages.join('').normalize('NFKC')).not.toContain(SECRET);
  });

  it('halves_structured: the strings of structured content read joined never carry it', async () => {
    const result = await client.callTool({ name: 'split__halves_structured', arguments: {} });
    expect(joined(result.structuredContent)).not.toContain(SECRET);
    await expectAuditClean();
  });

  it('progress_lookalike: a progress message in look-alike letters never carries it', async () => {
    const messages: string[] = [];
    await client.callTool({ name: 'split__progress_lookalike', arguments: {} }, undefined, {
      onprogress: (p) => messages.push(p.message ?? ''),
    });
    expect(messages.length).toBe(1);
    expect(foldLookAlikes(messages.join(''))).not.toContain(SECRET);
  });

  it.each(['progress_halves', 'progress_eighths'])(
    '%s: progress messages of one call read joined never carry it',
    async (tool) => {
      const messages: string[] = [];
      await client.callTool({ name: `split__${tool}`, arguments: {} }, undefined, {
        onprogress: (p) => messages.push(p.message ?? ''),
      });
      expect(messages.length).toBeGreaterThan(1);
      expect(messages.join('')).not.toContain(SECRET);
    },
  );

  it('progress_then_result: the progress text and the result read joined never carry it', async () => {
    const messages: string[] = [];
    const result = await client.callTool({ name: 'split__progress_then_result', arguments: {} }, undefined, {
      onprogress: (p) => messages.push(p.message ?? ''),
    });
    expect(messages.length).toBe(1);
    const texts = (result.content as { text: string }[]).map((c) => c.text);
    expect(messages.join('') + texts.join('')).not.toContain(SECRET);
    await expectAuditClean();
  });

  it('a resource read in two contents never carries it joined', async () => {
    const result = await client.readResource({ uri: 'note://split' });
    expect(result.contents.map((c) => ('text' in c ? c.text : '')).join('')).not.toContain(SECRET);
    await expectAuditClean();
  });

  it('a resource read whose progress holds the start never carries it joined with its contents', async () => {
    const messages: string[] = [];
    const result = await client.readResource(
      { uri: 'note://progress' },
      {
        onprogress: (p) => messages.push(p.message ?? ''),
      },
    );
    expect(messages.length).toBe(1);
    const texts = result.contents.map((c) => ('text' in c ? c.text : ''));
    expect(messages.join('') + texts.join('')).not.toContain(SECRET);
  });

  it('a prompt in two messages never carries it joined', async () => {
    const result = await client.getPrompt({ name: 'split__split' });
    const texts = result.messages.map((m) => ('text' in m.content ? m.content.text : ''));
    expect(texts.join('')).not.toContain(SECRET);
    await expectAuditClean();
  });
});
