/**
 * What it takes to build the same scrubber in another thread (the inspection
 * workers, src/inspect/worker): its configured secrets, the secrets added at
 * run time in the order they came, its disabled rules and PII actions. A
 * replica must never miss a secret the original knows, so additions are
 * pushed to subscribers synchronously, inside `addSecrets`: a worker hears of
 * a run token before it can receive any job posted after the token existed
 * (one port delivers its messages in order).
 *
 * Configured and added secrets stay apart because the engine treats them
 * differently (configured ones also match in wrapped forms).
 */
import type { PiiAction, PiiKind } from './pii.js';

export interface ScrubberBase {
  /** Unique in this process: one per `createScrubber`, shared by its `withPii` variants. */
  readonly id: number;
  readonly configured: readonly string[];
  readonly disableRules: readonly string[];
  readonly maxDepth: number;
  /** Every secret added after creation, in order. */
  added(): readonly string[];
  /** Called synchronously with each later addition; returns the unsubscribe. */
  subscribe(listener: (values: readonly string[]) => void): () => void;
}

export interface ScrubberReplica {
  base: ScrubberBase;
  pii: Readonly<Record<PiiKind, PiiAction>>;
  /** Told the redactions (by rule) a replica made, as a wrapper counting them would have been. */
  onRedactions?: (counts: Readonly<Record<string, number>>) => void;
}

let nextId = 1;

/** The shared part of a scrubber family; `record` is what its `addSecrets` calls after the engine's. */
export function newScrubberBase(init: {
  configured: readonly string[];
  disableRules: readonly string[];
  maxDepth: number;
}): ScrubberBase & { record(values: readonly string[]): void } {
  const added: string[] = [];
  const listeners = new Set<(values: readonly string[]) => void>();
  return {
    id: nextId++,
    configured: init.configured,
    disableRules: init.disableRules,
    maxDepth: init.maxDepth,
    added: () => added,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    record(values) {
      if (values.length === 0) return;
      added.push(...values);
      for (const listener of listeners) listener(values);
    },
  };
}

const replicas = new WeakMap<object, ScrubberReplica>();

export function registerReplica(scrubber: object, replica: ScrubberReplica): void {
  replicas.set(scrubber, replica);
}

/** How to rebuild `scrubber` elsewhere; undefined for one with custom rules (not replicable). */
export function replicaOf(scrubber: object): ScrubberReplica | undefined {
  return replicas.get(scrubber);
}
