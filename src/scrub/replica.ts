/**
 * What it takes to build the same scrubber in another thread (the inspection
 * workers, src/inspect/worker): its configured secrets, the secrets added at
 * run time and not forgotten since, in the order they came, its disabled
 * rules and PII actions. A replica must never miss a secret the original
 * knows, so additions are pushed to subscribers synchronously, inside
 * `addSecrets`: a worker hears of a run token before it can receive any job
 * posted after the token existed (one port delivers its messages in order).
 * Forgetting (a run token once its run ended) is pushed the same way, so a
 * replica holds what the original holds, not every secret it ever had.
 *
 * Configured and added secrets stay apart because the engine treats them
 * differently (configured ones also match in wrapped forms).
 */
import type { PiiAction, PiiKind } from './pii.js';

/** A change to a family's runtime secrets, as its subscribers hear it. */
export interface SecretChange {
  kind: 'added' | 'forgotten';
  values: readonly string[];
}

export interface ScrubberBase {
  /** Unique in this process: one per `createScrubber`, shared by its `withPii` variants. */
  readonly id: number;
  readonly configured: readonly string[];
  readonly disableRules: readonly string[];
  readonly maxDepth: number;
  /** Every secret added after creation and not forgotten, in order (twice if added twice). */
  added(): readonly string[];
  /** Called synchronously with each later change; returns the unsubscribe. */
  subscribe(listener: (change: SecretChange) => void): () => void;
}

export interface ScrubberReplica {
  base: ScrubberBase;
  pii: Readonly<Record<PiiKind, PiiAction>>;
  /** Told the redactions (by rule) a replica made, as a wrapper counting them would have been. */
  onRedactions?: (counts: Readonly<Record<string, number>>) => void;
}

let nextId = 1;

/**
 * The shared part of a scrubber family; `record` is what its `addSecrets` and `forgetSecrets`
 * call after the engine's.
 */
export function newScrubberBase(init: {
  configured: readonly string[];
  disableRules: readonly string[];
  maxDepth: number;
}): ScrubberBase & { record(change: SecretChange): void } {
  // Each live secret with how many times it was added and not forgotten, in order of arrival.
  const live = new Map<string, number>();
  const listeners = new Set<(change: SecretChange) => void>();
  return {
    id: nextId++,
    configured: init.configured,
    disableRules: init.disableRules,
    maxDepth: init.maxDepth,
    added: () => [...live].flatMap(([value, times]) => Array<string>(times).fill(value)),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    record(change) {
      if (change.values.length === 0) return;
      for (const value of change.values) {
        const times = (live.get(value) ?? 0) + (change.kind === 'added' ? 1 : -1);
        if (times > 0) live.set(value, times);
        else live.delete(value);
      }
      for (const listener of listeners) listener(change);
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
