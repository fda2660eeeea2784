/**
 * The pipeline tells a hook how each stage ended without wrapping it (`stageDone`, which metrics
 * use): every stage that ran is reported once, a stage that threw as `undefined` (and the call is
 * denied), and an observer that throws changes no decision.
 */
import { describe, expect, it } from 'vitest';
import type { CatalogTool } from '../gateway/catalog.js';
import { createLogger } from '../log.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import { createScrubber } from '../scrub/index.js';
import { dataReadStage } from './data-read.js';
import { flowStage } from './flow.js';
import { LoopGuard } from './loop-guard.js';
import { type NamedStage, Pipeline, type PipelineHook } from './pipeline.js';
import { runStateStage } from './run-state.js';
import { CONTINUE, deny, type StageResult, type ToolCall } from './stage.js';
import { taintStage } from './taint.js';

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

describe('stages that answer at once', () => {
  const pipeline = (stages: NamedStage[]) => new Pipeline(stages, [], { logger, scrubber });

  it('stops at a denial a stage answers without a promise', async () => {
    let later = false;
    const outcome = await pipeline([
      { name: 'one', run: () => CONTINUE },
      { name: 'two', run: () => deny({ code: 'tool_not_in_scope', message: 'no' }) },
      {
        name: 'three',
        run: () => {
          later = true;
          return CONTINUE;
        },
      },
    ]).call(call());
    expect(outcome).toMatchObject({ decision: 'deny', denial: { code: 'tool_not_in_scope' } });
    expect(later).toBe(false);
  });

  it('denies as internal_error when a stage throws before answering', async () => {
    const outcome = await pipeline([
      {
        name: 'one',
        run: () => {
          throw new Error('bug');
        },
      },
    ]).call(call());
    expect(outcome).toMatchObject({ decision: 'deny', denial: { code: 'internal_error' } });
  });

  it('waits for a thenable that is not a native promise', async () => {
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: the point of the test is a foreign thenable
      then: (resolve: (r: StageResult) => void) => resolve(deny({ code: 'loop_detected', message: 'no' })),
    } as unknown as Promise<StageResult>;
    const outcome = await pipeline([{ name: 'one', run: () => thenable }]).call(call());
    expect(outcome).toMatchObject({ decision: 'deny', denial: { code: 'loop_detected' } });
  });

  it('passes a call through the checks with nothing to wait for without a promise', () => {
    const tool = {
      exposed: 'u__t',
      original: 't',
      upstream: 'u',
      rule: { class: 'read' },
      upstreamDefinition: { name: 't', inputSchema: { type: 'object' } },
    } as unknown as CatalogTool;
    const c: ToolCall = {
      ...call(),
      run: {
        id: 'run_1',
        state: 'active',
        expiresAt: Date.now() + 60_000,
        taint: { untrusted: false, sources: [] },
        read: { private: [], secret: [] },
      } as unknown as Run,
      profile: {
        loop_guard: { window: 60_000, identical_calls: 5, consecutive_errors: 5, action: 'refuse' },
      } as unknown as ToolCall['profile'],
      tool,
      args: { a: 1 },
      result: { content: [{ type: 'text', text: 'x' }] },
    };
    const runs = {} as RunService;
    const answers = [
      runStateStage({ now: Date.now })(c),
      flowStage({ runs })(c),
      new LoopGuard({ runs, now: Date.now }).stage(c),
      dataReadStage({ policy: { upstreams: {} } as unknown as Policy, runs })(c),
      taintStage({ runs })(c),
    ];
    expect(answers).toEqual([CONTINUE, CONTINUE, CONTINUE, CONTINUE, CONTINUE]);
  });
});
