/**
 * A policy reload reaches the LLM proxy's answers as it reaches tool results: the scrubber a
 * profile's agents read through is the one the reload made, not the one of the gateway's start.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicAgent, type LlmGateway, llmPolicy, startLlmGateway } from '../helpers/llm-harness.js';

const profiles = (email: 'allow' | 'redact') => `
  agent:
    pii: { email: ${email} }
    budgets: { tokens: { output: 100000 } }
`;
const ADDRESS = 'alice.example@example.com';

describe('the LLM proxy after a policy reload', () => {
  let llm: LlmGateway;
  beforeAll(async () => {
    llm = await startLlmGateway(profiles('allow'));
    llm.fake.script = [{ type: 'text', chunks: [`write to ${ADDRESS} today`] }];
  });
  afterAll(() => llm.close());

  const answer = async () => {
    const { client } = await anthropicAgent(llm.gw, 'agent');
    const message = await client.messages.create({
      model: 'claude-test',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hi' }],
    });
    return JSON.stringify(message.content);
  };

  it('scrubs answers with the PII actions the reload gave the profile', async () => {
    expect(await answer()).toContain(ADDRESS);
    writeFileSync(join(llm.gw.dir, 'policy.yaml'), llmPolicy(llm.fake.url, profiles('redact')));
    const outcome = await llm.gw.gateway.reload('test');
    expect(outcome).toMatchObject({ ok: true });
    expect(await answer()).not.toContain(ADDRESS);
  });
});
