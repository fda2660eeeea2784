/**
 * The pipeline tells a hook how each stage ended without wrapping it (`stageDone`, which metrics
 * use): every stage that ran is reported once, a stage that threw as `undefined` (and the call is
 * denied), and an observer that throws changes no decision.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import type { Run } from '../runs/run.js';
import { createScrubber } from '../scrub/index.js';
import { Pipeline, type PipelineHook } from './pipeline.js';
import { CONTINUE, deny, type ToolCall } from './stage.js';

const scrubber = createScrubber();
const logger = createLogger({ scrubber, level: 'silent' });

function call(): ToolCall {
  return {
    run: { id: 'run_1' } as Run,
    profile: {} as ToolCall['profile'],
    profileName: 'p',
    name: 't',
    rawArgs: {},
    signal: new AbortController().signal,
    startedAt: Date.now(),
    flags: [],
  };
}

describe('pipeline stage observers', () => {
  it('reports each stage that ran once, with its result, and a throwing stage as undefined', async () => {
    const seen: [string, string][] = [];
    const hook: PipelineHook = {
      stageDone: (stage, result, ms) => {
        expect(ms).toBeGreaterThanOrEqual(0);
        seen.push([stage, result === undefined ? 'threw' : result.ok ? 'continue' : result.denial.code]);
      },
    };
    const stages = (third: 'deny' | 'throw') => [
      { name: 'one', run: async () => CONTINUE },
      { name: 'two', run: async () => CONTINUE },
      {
        name: 'three',
        run: async () => {
          if (third === 'throw') throw new Error('bug');
          return deny({ code: 'tool_not_in_scope', message: 'no' });
        },
      },
      { name: 'never', run: async () => CONTINUE },
    ];
    const denied = await new Pipeline(stages('deny'), [], { logger, scrubber, hooks: [hook] }).call(call());
    expect(denied.decision).toBe('deny');
    expect(seen.splice(0)).toEqual([
      ['one', 'continue'],
      ['two', 'continue'],
      ['three', 'tool_not_in_scope'],
    ]);
    const failed = await new Pipeline(stages('throw'), [], { logger, scrubber, hooks: [hook] }).call(call());
    expect(failed).toMatchObject({ decision: 'deny', denial: { code: 'internal_error' } });
    expect(seen).toEqual([
      ['one', 'continue'],
      ['two', 'continue'],
      ['three', 'threw'],
    ]);
  });

  it('lets no observer change a decision', async () => {
    const hook: PipelineHook = {
      stageDone: () => {
        throw new Error('a broken metric');
      },
    };
    const pipeline = new Pipeline(
      [
        {
          name: 'execute',
          run: async (c) => {
            c.result = { content: [{ type: 'text', text: 'ran' }] };
            return CONTINUE;
          },
        },
      ],
      [],
      { logger, scrubber, hooks: [hook] },
    );
    const outcome = await pipeline.call(call());
    expect(outcome).toMatchObject({ decision: 'allow', result: { content: [{ text: 'ran' }] } });
  });
});
