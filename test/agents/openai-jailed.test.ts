/**
 * An agent on an OpenAI-compatible API inside `bulkhead run`'s jail: it finds
 * the proxy's OpenAI door from the variables bulkhead sets (as the `openai`
 * SDK and most frameworks read them), holds only the run token, and its
 * request reaches the model API with the real key added by the gateway. The
 * agent is plain `fetch` (the jail mounts no packages of this checkout).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { bulkhead, cliEnv } from '../helpers/cli.js';
import { everythingUpstream, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { skipWithoutSandbox } from '../sandbox/jail-harness.js';

const skip = skipWithoutSandbox();
const KEY = 'sk-ant-real-key-for-tests-0123456789';
let gw: TestGateway;
let fake: FakeAnthropic;

const AGENT = `
const base = process.env.OPENAI_BASE_URL;
const key = process.env.OPENAI_API_KEY;
console.log('ENV ' + JSON.stringify({ base, key, token: process.env.BULKHEAD_TOKEN }));
const answer = await fetch(base + '/chat/completions', {
  method: 'POST',
  headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'claude-test', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] }),
});
console.log('ANSWER ' + answer.status + ' ' + JSON.stringify((await answer.json()).choices?.[0]?.message?.content ?? null));
`;

beforeAll(async () => {
  if (skip) return;
  fake = await startFakeAnthropic();
  fake.script = [{ type: 'text', chunks: ['hello ', 'from ', 'the model'] }];
  gw = await startTestGateway(
    `
version: 1
store: { sqlite: ./bulkhead.db }
${everythingUpstream()}
llm:
  base_url: ${fake.url}
  api_key: { secret: ANTHROPIC_API_KEY }
profiles:
  agent:
    tools: []
    sandbox: { memory: 256M, pids: 128 }
`,
    { env: { ANTHROPIC_API_KEY: KEY } },
  );
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

describe.skipIf(skip)('an OpenAI-compatible agent in the jail', () => {
  it('reaches the model through the proxy with the run token; the real key is added only by the gateway', async () => {
    const workdir = tempDir('bulkhead-openai-agent-');
    writeFileSync(join(workdir, 'agent.mjs'), AGENT);
    const result = await bulkhead(
      [
        'run',
        '--policy',
        join(gw.dir, 'policy.yaml'),
        '--profile',
        'agent',
        '--workdir',
        workdir,
        '--',
        'node',
        'agent.mjs',
      ],
      {
        env: {
          ...cliEnv(gw),
          OPENAI_API_KEY: 'sk-host-openai-key-must-not-enter',
          OPENAI_BASE_URL: 'https://api.example.invalid/v1',
        },
      },
    );
    expect(result.stderr).not.toContain('sk-host-openai-key-must-not-enter');
    const env = JSON.parse(result.stdout.split('ENV ')[1]?.split('\n')[0] ?? '{}') as Record<string, string>;
    expect(env.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(env.key).toBe(env.token);
    expect(result.stdout).toContain('ANSWER 200 "hello from the model"');
    const sent = fake.received.find((r) => r.path === '/v1/chat/completions');
    expect(sent?.headers.authorization).toBe(`Bearer ${KEY}`);
  });
});
