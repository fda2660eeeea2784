/**
 * An agent's cancellation carries a free-text reason, and the SDK passes a
 * cancelled request's reason on to whatever it was waiting on: an agent that
 * cancelled its own call could write anything (private data it read) to the
 * upstream behind it, past the argument schema, the flow rules and the audit
 * trail. The upstream is told of a cancellation, never the agent's words. A
 * real stdio upstream (fixtures/cancel-server.ts) records what it was told.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_REASON } from '../../src/gateway/cancel-reason.js';
import { ROOT, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';

const PRIVATE = 'customer 4111 1111 1111 1111 lives at 12 Hidden Lane';

let gw: TestGateway;
let client: Client;
let record: string;
beforeAll(async () => {
  const dir = tempDir();
  record = join(dir, 'cancel.jsonl');
  gw = await startTestGateway(
    `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  cancel:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/gateway/fixtures/cancel-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env: { CANCEL_RECORD: ${JSON.stringify(record)} }
tools:
  cancel:
    slow: { class: external }
profiles:
  agent:
    tools: [cancel__slow]
    resources:
      - { upstream: cancel, uris: ["slow://*"] }
    prompts: [cancel__slow]
`,
    { dir },
  );
  client = (await gw.agent('agent')).client;
});
afterAll(async () => {
  await gw?.close();
});

function entries(what: string): { started?: boolean; reason?: string }[] {
  if (!existsSync(record)) return [];
  return readFileSync(record, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { what: string; started?: boolean; reason?: string })
    .filter((e) => e.what === what);
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
}

/** Starts a request, waits until the upstream has it, cancels it with `PRIVATE` as the reason. */
async function cancelWithReason(
  what: string,
  send: (signal: AbortSignal) => Promise<unknown>,
): Promise<void> {
  const controller = new AbortController();
  const sent = send(controller.signal).catch(() => undefined);
  await until(() => entries(what).some((e) => e.started));
  controller.abort(PRIVATE);
  await sent;
  await until(() => entries(what).some((e) => e.reason !== undefined));
}

describe("an agent's cancellation reason", () => {
  it('never reaches the upstream of a cancelled tool call', async () => {
    await cancelWithReason('tool', (signal) =>
      client.callTool({ name: 'cancel__slow', arguments: {} }, undefined, { signal }),
    );
    for (const e of entries('tool')) expect(e.reason ?? '').not.toContain('Hidden Lane');
    expect(entries('tool').some((e) => e.reason?.includes(CANCEL_REASON))).toBe(true);
  });

  it('never reaches the upstream of a cancelled resource read', async () => {
    await cancelWithReason('resource', (signal) => client.readResource({ uri: 'slow://one' }, { signal }));
    for (const e of entries('resource')) expect(e.reason ?? '').not.toContain('Hidden Lane');
  });

  it('never reaches the upstream of a cancelled prompt', async () => {
    await cancelWithReason('prompt', (signal) => client.getPrompt({ name: 'cancel__slow' }, { signal }));
    for (const e of entries('prompt')) expect(e.reason ?? '').not.toContain('Hidden Lane');
  });
});
