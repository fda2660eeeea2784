/**
 * The decision pipeline: every `tools/call` passes the same ordered stages.
 * The order is the security argument (DESIGN.md): nothing reaches execute
 * without passing run state, scope and validate; record always runs last.
 * This file only composes; each stage lives in its own file.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type Denial, denial, isBulkheadError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Scrubber } from '../scrub/index.js';
import type { Stage, StageResult, ToolCall } from './stage.js';

export interface NamedStage {
  name: string;
  run: Stage;
}

/**
 * Runs after the stages whatever they decided (settle an approval, record the
 * event). Finalizers run in order; `record` is last, so the audit event is
 * durable before the response leaves.
 */
export interface Finalizer {
  name: string;
  /** Answers at once (undefined) when it has nothing to wait for, like a stage. */
  run: (call: ToolCall, outcome: CallOutcome) => undefined | Promise<void>;
}

export type CallOutcome =
  | { decision: 'allow'; result: CallToolResult }
  | { decision: 'deny'; denial: Denial; result: CallToolResult };

/**
 * Observes calls from this one place (metrics, traces) instead of inside every
 * stage. Each method must call `next` exactly once and return (or throw) what
 * it did; hooks never change a decision. With no hooks, nothing is wrapped.
 */
export interface PipelineHook {
  call?(call: ToolCall, next: () => Promise<CallOutcome>): Promise<CallOutcome>;
  stage?(call: ToolCall, stage: string, next: () => Promise<StageResult>): Promise<StageResult>;
  /**
   * Told how each stage ended and how long it took (`result` undefined: it threw), without
   * wrapping it: a hook that only measures needs no closure and promise per stage and call.
   */
  stageDone?(stage: string, result: StageResult | undefined, ms: number): void;
}

export class Pipeline {
  private readonly callHooks: NonNullable<PipelineHook['call']>[];
  private readonly stageHooks: NonNullable<PipelineHook['stage']>[];
  private readonly stageObservers: NonNullable<PipelineHook['stageDone']>[];

  constructor(
    private readonly stages: readonly NamedStage[],
    private readonly finalizers: readonly Finalizer[],
    private readonly deps: { logger: Logger; scrubber: Scrubber; hooks?: readonly PipelineHook[] },
  ) {
    const hooks = deps.hooks ?? [];
    this.callHooks = hooks.flatMap((h) => (h.call ? [h.call.bind(h)] : []));
    this.stageHooks = hooks.flatMap((h) => (h.stage ? [h.stage.bind(h)] : []));
    this.stageObservers = hooks.flatMap((h) => (h.stageDone ? [h.stageDone.bind(h)] : []));
  }

  get stageNames(): string[] {
    return this.stages.map((s) => s.name);
  }

  call(call: ToolCall): Promise<CallOutcome> {
    if (this.callHooks.length === 0) return this.decide(call);
    return this.callHooks.reduceRight<() => Promise<CallOutcome>>(
      (next, hook) => () => hook(call, next),
      () => this.decide(call),
    )();
  }

  /** A failing observer is ignored: observing never changes a decision. */
  private tell(stage: string, result: StageResult | undefined, started: number): void {
    const ms = performance.now() - started;
    for (const observe of this.stageObservers) {
      try {
        observe(stage, result, ms);
      } catch {
        // Metrics are not worth a call.
      }
    }
  }

  private runStage(stage: NamedStage, call: ToolCall): StageResult | Promise<StageResult> {
    if (this.stageHooks.length === 0) return stage.run(call);
    return this.stageHooks.reduceRight<() => Promise<StageResult>>(
      (next, hook) => () => hook(call, stage.name, next),
      async () => stage.run(call),
    )();
  }

  private async decide(call: ToolCall): Promise<CallOutcome> {
    let denied: Denial | undefined;
    const observers = this.stageObservers;
    for (const stage of this.stages) {
      let outcome: StageResult;
      const started = observers.length > 0 ? performance.now() : 0;
      try {
        // Awaited only when the stage had something to wait for (see `Stage`).
        const answered = this.runStage(stage, call);
        outcome = isThenable(answered) ? await answered : answered;
        if (observers.length > 0) this.tell(stage.name, outcome, started);
      } catch (error) {
        if (observers.length > 0) this.tell(stage.name, undefined, started);
        // A stage that throws denies: fail closed, never forward on a bug.
        this.deps.logger.error(
          { err: error, stage: stage.name, runId: call.run.id },
          'pipeline stage failed',
        );
        // A store that cannot take a write (locked, unreachable) fails closed with its own code.
        outcome = {
          ok: false,
          denial: isBulkheadError(error, 'store_unavailable')
            ? denial('store_unavailable', 'The gateway cannot record this call right now; it was not run.')
            : denial('internal_error', 'The call could not be processed.'),
        };
      }
      if (!outcome.ok) {
        denied = outcome.denial;
        break;
      }
    }
    const outcome: CallOutcome = denied
      ? { decision: 'deny', denial: denied, result: denialResult(this.deps.scrubber.value(denied)) }
      : { decision: 'allow', result: call.result ?? { content: [] } };
    for (const finalizer of this.finalizers) {
      try {
        const done = finalizer.run(call, outcome);
        if (isThenable(done)) await done;
      } catch (error) {
        this.deps.logger.error(
          { err: error, finalizer: finalizer.name, runId: call.run.id },
          'pipeline finalizer failed',
        );
        // A call whose audit event could not be written must not be reported as done. A call
        // refused before reaching an upstream may still say why: nothing happened.
        if (finalizer.name === 'record' && !(denied && call.intentId === undefined)) throw error;
      }
    }
    return outcome;
  }
}

/** A promise or any object with a `then` method: what `await` would wait for. */
function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/** How a denial reaches the agent: a tool result it can read and adapt to, never a crash. */
export function denialResult(d: Denial): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: `Denied by bulkhead (${d.code}): ${d.message}` }],
    _meta: { 'bulkhead/denial': { code: d.code, ...(d.detail ?? {}) } },
  };
}
