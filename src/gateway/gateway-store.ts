/** The gateway's store: opened for the policy, timed into the metrics, the store clock set by it (gateway.ts). */
import type { Policy } from '../policy/schema/index.js';
import type { SecretSource } from '../policy/secrets.js';
import type { StoreClock } from '../replicas/store-clock.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { timedStore } from '../telemetry/store-timing.js';
import type { GatewayOptions } from './gateway-types.js';
import type { Metrics } from './metrics.js';

export async function openGatewayStore(
  options: GatewayOptions,
  {
    policy,
    source,
    metrics,
    clock,
  }: { policy: Policy; source: SecretSource; metrics: Metrics; clock: StoreClock },
): Promise<Store> {
  const propagation = options.propagation ?? {};
  const opened = await openStore(policy, source, {
    ...(propagation.listen !== undefined ? { listen: propagation.listen } : {}),
    // Checkpoints' fsyncs off the event loop every call shares (store/sqlite/checkpointer.ts).
    backgroundCheckpoints: true,
  });
  const store = timedStore(opened, (op, ok, seconds) => metrics.storeOperation(op, ok, seconds));
  if (!options.now) await clock.sync(store.replicas);
  return store;
}
