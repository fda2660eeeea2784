/**
 * What the upstream receives is the value the gateway checked and an approver
 * was shown, re-serialised from it, never the agent's bytes: JSON text the
 * agent can write so that one reader sees one value and another reader
 * another (a key given twice, a number JSON.parse rounds or reads as zero,
 * `1.0`) reaches the upstream as the single value that was checked.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalHash } from '../../src/util/canonical.js';
import { denyApproval, pendingFor } from '../helpers/approvals.js';
import {
  rawPost,
  rawSession,
  recorded,
  sessionHeaders,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';
import { startSchemaGateway } from '../helpers/schema-upstream.js';

const SCHEMA = {
  type: 'object',
  properties: {
    amount: { type: 'number' },
    memo: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
  },
};
const TOOLS = [
  { name: 'note', inputSchema: SCHEMA },
  { name: 'transfer', inputSchema: SCHEMA },
];

let gw: TestGateway;
let record: string;
let raw: string;
beforeAll(async () => {
  const policy = `tools:
  bank:
    note:
      class: read
      arguments:
        amount: { maximum: 100 }
        labels: { additional_properties: true }
    transfer:
      class: irreversible
      approval: { timeout: 2s }
      arguments:
        amount: { maximum: 100 }
        labels: { additional_properties: true }
profiles:
  agent:
    tools: [bank__note, bank__transfer]`;
  raw = join(tempDir(), 'raw.txt');
  ({ gw, record } = await startSchemaGateway('bank', TOOLS, { policy, upstream: { rawRecord: raw } }));
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => {
  writeFileSync(record, '');
  writeFileSync(raw, '');
});

/** Sends a tools/call whose `arguments` are the JSON text `args`, exactly as written. */
async function callRaw(tool: string, args: string): Promise<{ body: string }> {
  return (await startRaw(tool, args)).answer;
}

/** As callRaw, with the run's id before the answer comes (a held call answers once decided). */
async function startRaw(
  tool: string,
  args: string,
): Promise<{ runId: string; answer: Promise<{ body: string }> }> {
  const { run, token } = await gw.gateway.runs.create('agent');
  const session = await rawSession(gw.gateway.url, token);
  const body = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"bank__${tool}","arguments":${args}}}`;
  return { runId: run.id, answer: rawPost(gw.gateway.url, token, body, sessionHeaders(session)) };
}

/** The `arguments` text of the tools/call line the upstream read. */
function sentText(): string {
  const line = readFileSync(raw, 'utf8')
    .split('\n')
    .find((l) => l.includes('"tools/call"'));
  const start = line?.indexOf('"arguments":') ?? -1;
  if (!line || start < 0) return '';
  // The test's values hold no braces inside strings: counting them finds the object's end.
  let depth = 0;
  const from = start + '"arguments":'.length;
  for (let i = from; i < line.length; i++) {
    if (line[i] === '{') depth++;
    else if (line[i] === '}' && --depth === 0) return line.slice(from, i + 1);
  }
  return '';
}

describe('arguments reach the upstream as the value that was checked', () => {
  it('a key given twice is checked and sent as its last value only', async () => {
    const { body } = await callRaw('note', '{"amount":5,"amount":5000}');
    expect(body).toContain('invalid_arguments');
    expect(recorded(record)).toEqual([]);
  });

  it('a key given twice whose last value passes reaches the upstream once, with that value', async () => {
    await callRaw('note', '{"amount":5000,"amount":5}');
    expect(sentText()).toBe('{"amount":5}');
  });

  it('numbers reach the upstream as the values checked, not as the agent spelled them', async () => {
    await callRaw('note', '{"amount":-0,"labels":{"a":"x"},"memo":"1.0"}');
    expect(sentText()).toBe('{"amount":0,"labels":{"a":"x"},"memo":"1.0"}');
    writeFileSync(raw, '');
    await callRaw('note', '{"amount":1.0}');
    expect(sentText()).toBe('{"amount":1}');
  });

  it('a number JSON.parse rounds is sent as the rounded value that was checked against the maximum', async () => {
    const { body } = await callRaw('note', '{"amount":100.00000000000000001}');
    // JSON.parse reads it as 100: within the maximum, and 100 is what the upstream gets.
    expect(body).not.toContain('invalid_arguments');
    expect(sentText()).toBe('{"amount":100}');
  });

  it('a number too large for a double is refused, not sent as Infinity or null', async () => {
    const { body } = await callRaw('note', '{"amount":-1e400}');
    expect(body).toContain('invalid_arguments');
    expect(readFileSync(raw, 'utf8')).not.toContain('"tools/call"');
  });

  it('an approval holds and binds the value that would be sent, not the duplicate the agent wrote first', async () => {
    const { runId, answer } = await startRaw('transfer', '{"amount":9000,"amount":50}');
    const approval = await pendingFor(gw.gateway, runId);
    expect(approval.arguments).toEqual({ amount: 50 });
    expect(approval.argsHash).toBe(canonicalHash({ amount: 50 }));
    await denyApproval(gw.gateway, approval);
    expect((await answer).body).toContain('approval_denied');
  });
});

describe('keys an approver cannot tell apart are named in why the call is held', () => {
  async function heldWhy(args: string): Promise<string> {
    const { runId, answer } = await startRaw('transfer', args);
    const held = await pendingFor(gw.gateway, runId);
    await denyApproval(gw.gateway, held);
    expect((await answer).body).toContain('approval_denied');
    return held.why;
  }

  it('names two sibling keys that differ only by a look-alike letter', async () => {
    const why = await heldWhy('{"amount":5,"labels":{"PATH":"/usr/bin","P\\u0410TH":"/tmp/evil"}}');
    expect(why).toContain('/labels/PATH');
    expect(why).toContain('/labels/P\\u{410}TH');
  });

  it('names two sibling keys that differ only by Unicode normalisation', async () => {
    const why = await heldWhy('{"amount":5,"labels":{"caf\\u00e9":"a","cafe\\u0301":"b"}}');
    expect(why).toContain('/labels/caf\\u{e9}');
    expect(why).toContain('/labels/cafe\\u{301}');
  });

  it('names a key with a look-alike letter even without a twin', async () => {
    const why = await heldWhy('{"amount":5,"labels":{"P\\u0410TH":"/tmp/evil"}}');
    expect(why).toContain('/labels/P\\u{410}TH');
  });

  it('names a key with a mathematical letter that reads as ASCII', async () => {
    const why = await heldWhy('{"amount":5,"labels":{"\\ud835\\udda8OME":"/tmp"}}');
    expect(why).toContain('/labels/\\u{1d5a8}OME');
  });

  it('says nothing of keys in one script', async () => {
    const why = await heldWhy('{"amount":5,"labels":{"PATH":"/usr/bin","HOME":"/root"}}');
    expect(why).not.toContain('key');
  });
});
