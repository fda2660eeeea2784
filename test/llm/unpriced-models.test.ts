/**
 * A model the price table does not list is refused under a USD cap, whatever its name: the
 * table is a plain object, so a model named after one of its inherited keys (`constructor`,
 * `toString`) read a function as its price, passed the check, and was charged $0 (a NaN cost).
 */
import { describe, expect, it } from 'vitest';
import { useScriptedGateway } from './scripted-api.js';

const PROFILES = `
  capped:
    budgets: { usd: 0.01 }
`;
const scripted = useScriptedGateway(PROFILES);

describe('unpriced models under a USD cap', () => {
  for (const model of ['constructor', 'toString', '__proto__', 'hasOwnProperty'])
    it(`refuses the model ${JSON.stringify(model)}, unsent`, async () => {
      scripted.api.answer = (res) =>
        void res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model,
            content: [{ type: 'text', text: 'ok' }],
            stop_reason: 'end_turn',
            usage: { input_tokens: 1_000_000, output_tokens: 1_000_000 },
          }),
        );
      const { token } = await scripted.gw.gateway.runs.create('capped');
      const before = scripted.api.received.length;
      const res = await fetch(`${scripted.gw.gateway.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': token,
          'anthropic-version': '2023-06-01',
        },
        body: JSON.stringify({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('no price');
      expect(scripted.api.received.length).toBe(before);
    });
});
