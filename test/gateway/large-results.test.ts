import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denialCode, startTestGateway, type TestGateway, text } from '../helpers/harness.js';
import { useSizedUpstreams } from '../helpers/sized-upstreams.js';

const MB = 1024 * 1024;

const sized = useSizedUpstreams();
let gw: TestGateway;
const warnings: string[] = [];
const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);

beforeAll(async () => {
  gw = await startTestGateway(`
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${await sized.upstreams('    max_message: 2M\n')}tools:
  stdio:
    blob: { class: read }
    wait: { class: read }
  http:
    blob: { class: read }
    wait: { class: read }
profiles:
  agent:
    tools: [stdio__blob, stdio__wait, http__blob, http__wait]
    loop_guard: { identical_calls: 100000 }
`);
  process.on('warning', onWarning);
});
afterAll(async () => {
  process.off('warning', onWarning);
  await gw?.close();
});

describe('large results from a stdio upstream', () => {
  it('refuses a 100 MB result without dropping the connection', async () => {
    const agent = await gw.agent('agent');
    const pid = gw.gateway.pool.status().find((s) => s.name === 'stdio')?.pid;
    const started = Date.now();
    const result = await agent.client.callTool({ name: 'stdio__blob', arguments: { bytes: 100 * MB } });
    expect(denialCode(result)).toBe('result_too_large');
    // Answered by the bounded reader, not by the 30 s call timeout.
    expect(Date.now() - started).toBeLessThan(25_000);
    const after = await agent.client.callTool({
      name: 'stdio__wait',
      arguments: { ms: 0, tag: 'still here' },
    });
    expect(text(after)).toContain('still here');
    const status = gw.gateway.pool.status().find((s) => s.name === 'stdio');
    expect(status?.pid).toBe(pid);
    expect(status?.restarts).toBe(0);
  }, 60_000);

  it('truncates a 9 MB result to the output cap', async () => {
    const agent = await gw.agent('agent');
    const result = await agent.client.callTool({ name: 'stdio__blob', arguments: { bytes: 9 * MB } });
    expect(denialCode(result)).toBeUndefined();
    const body = text(result);
    expect(body).toContain('output truncated');
    expect(body.length).toBeLessThan(300 * 1024);
  }, 60_000);
});

describe('large results from an HTTP upstream', () => {
  it('refuses an answer over max_message at once and keeps serving', async () => {
    const agent = await gw.agent('agent');
    const started = Date.now();
    const result = await agent.client.callTool({ name: 'http__blob', arguments: { bytes: 5 * MB } });
    expect(denialCode(result)).toBe('result_too_large');
    expect(Date.now() - started).toBeLessThan(25_000);
    const small = await agent.client.callTool({ name: 'http__blob', arguments: { bytes: MB } });
    expect(denialCode(small)).toBeUndefined();
    const after = await agent.client.callTool({
      name: 'http__wait',
      arguments: { ms: 0, tag: 'still here' },
    });
    expect(text(after)).toContain('still here');
  }, 60_000);

  it('adds no abort listener per call to the transport signal (no MaxListenersExceededWarning)', async () => {
    const agent = await gw.agent('agent');
    warnings.length = 0;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        agent.client.callTool({ name: 'http__wait', arguments: { ms: 50, tag: `c${i}` } }),
      ),
    );
    for (let i = 0; i < 40; i++) {
      await agent.client.callTool({ name: 'http__wait', arguments: { ms: 0, tag: `s${i}` } });
    }
    expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
  }, 60_000);
});
