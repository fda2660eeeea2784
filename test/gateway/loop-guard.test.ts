import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  denialCode,
  everythingUpstream,
  FILESYSTEM_SERVER,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';

const FILES = tempDir('bulkhead-files-');

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
${everythingUpstream()}
  files:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(FILESYSTEM_SERVER)}, ${JSON.stringify(FILES)}]
tools:
  everything:
    echo: { class: read }
    get-sum: { class: read, rename: sum }
  files:
    read_text_file: { class: read }
profiles:
  refuse:
    tools: [everything__echo]
    loop_guard: { identical_calls: 3, window: 60s }
  kill:
    tools: [everything__echo, everything__sum]
    loop_guard: { identical_calls: 3, window: 60s, action: kill }
  errors:
    tools: [files__read_text_file]
    loop_guard: { consecutive_errors: 2 }
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY);
});
afterAll(async () => {
  await gw?.close();
});

describe('loop guard', () => {
  it('refuses the call after N identical calls within the window', async () => {
    const agent = await gw.agent('refuse');
    const codes = [];
    for (let i = 0; i < 4; i++) {
      codes.push(
        denialCode(await agent.client.callTool({ name: 'everything__echo', arguments: { message: 'same' } })),
      );
    }
    expect(codes).toEqual([undefined, undefined, undefined, 'loop_detected']);
  });

  it('counts arguments canonically: key order does not evade it', async () => {
    const agent = await gw.agent('kill');
    const codes = [];
    for (const args of [
      { a: 1, b: 2 },
      { b: 2, a: 1 },
      { a: 1, b: 2 },
      { b: 2, a: 1 },
    ]) {
      codes.push(denialCode(await agent.client.callTool({ name: 'everything__sum', arguments: args })));
    }
    expect(codes.at(-1)).toBe('loop_detected');
  });

  it('lets different arguments through', async () => {
    const agent = await gw.agent('refuse');
    for (let i = 0; i < 5; i++) {
      const result = await agent.client.callTool({
        name: 'everything__echo',
        arguments: { message: `m${i}` },
      });
      expect(denialCode(result)).toBeUndefined();
    }
  });

  it('ends the run when the profile says kill', async () => {
    const agent = await gw.agent('kill');
    for (let i = 0; i < 4; i++)
      await agent.client.callTool({ name: 'everything__echo', arguments: { message: 'x' } });
    const run = await gw.gateway.runs.get(agent.runId);
    expect(run?.state).toBe('exhausted');
    expect(run?.endReason).toContain('loop detected');
  });

  it('trips after M consecutive failing calls of one tool', async () => {
    const agent = await gw.agent('errors');
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      // Each path is different, so only the error streak can trip the guard.
      const result = await agent.client.callTool({
        name: 'files__read_text_file',
        arguments: { path: `${FILES}/missing-${i}` },
      });
      outcomes.push(denialCode(result) ?? (result.isError ? 'upstream_said_error' : 'ok'));
    }
    expect(outcomes).toEqual(['upstream_said_error', 'upstream_said_error', 'loop_detected']);
  });
});
