/**
 * The checks every call passes before anything can hold or run it: run state,
 * scope, validate, budget, loop guard, flow — in this order. One list, used by
 * the gateway's pipeline and by `bulkhead test`, so a policy test decides
 * exactly as the gateway would.
 */
import type { EventWriter } from '../events/writer.js';
import type { Catalog } from '../gateway/catalog.js';
import type { Notifier } from '../notify/notifier.js';
import type { RunService } from '../runs/service.js';
import type { Store } from '../store/store.js';
import { budgetStage } from './budget.js';
import { flowStage } from './flow.js';
import { gatewaySecretsStage } from './gateway-secrets.js';
import type { LoopGuard } from './loop-guard.js';
import type { NamedStage } from './pipeline.js';
import { runStateStage } from './run-state.js';
import { scopeStage } from './scope.js';
import { validateStage } from './validate.js';

export interface CheckDeps {
  catalog: Catalog;
  store: Store;
  runs: RunService;
  events: EventWriter;
  notifier: Notifier;
  loopGuard: LoopGuard;
  now: () => number;
  /** The gateway's upstream states (absent in `bulkhead test`, which has no upstream). */
  upstreamDown?: (exposedName: string) => boolean;
  /** Marks the gateway's own secrets (gateway/scrubbers.ts); absent in `bulkhead test`, which has none. */
  scrub?: (text: string) => string;
}

export function checkStages(deps: CheckDeps): NamedStage[] {
  const { catalog, store, runs, events, notifier, loopGuard, now } = deps;
  return [
    { name: 'run-state', run: runStateStage({ now }) },
    {
      name: 'scope',
      run: scopeStage({ catalog, ...(deps.upstreamDown ? { upstreamDown: deps.upstreamDown } : {}) }),
    },
    { name: 'validate', run: validateStage() },
    { name: 'budget', run: budgetStage({ store, runs, events, notifier, now }) },
    { name: 'loop-guard', run: loopGuard.stage },
    { name: 'flow', run: flowStage({ runs }) },
    ...(deps.scrub ? [{ name: 'gateway-secrets', run: gatewaySecretsStage({ scrub: deps.scrub }) }] : []),
  ];
}
