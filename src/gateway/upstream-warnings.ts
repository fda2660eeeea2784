/**
 * What the upstream pool says once per gateway, not once per upstream or per call: how stdio
 * upstreams are tied to the gateway (with the sweep of what a gateway killed earlier left
 * running), and an inspection worker failing to parse a long answer (parsed on the event loop
 * instead: right, but slower for everyone).
 */
import type { Logger } from '../log.js';
import { type Containment, sweepLeftovers } from './parent-death.js';

export class UpstreamWarnings {
  private containmentSaid = false;
  private parseFallbackSaid = false;

  constructor(private readonly logger: Logger) {}

  /** At the first stdio start: leftovers swept, and a containment weaker than a PID namespace said. */
  containment(how: Containment): void {
    if (this.containmentSaid) return;
    this.containmentSaid = true;
    const { logger } = this;
    const swept = sweepLeftovers();
    if (swept > 0)
      logger.warn({ swept }, 'swept processes that stdio upstreams of a gateway killed earlier left running');
    if (how.mode === 'pid-namespace') return;
    if (how.mode === 'none') {
      logger.warn(
        { containment: how.mode, reason: how.reason },
        'stdio upstreams are not tied to the gateway (no PID namespace, no setpriv): a kill -9 of it leaves them running',
      );
      return;
    }
    logger.warn(
      { containment: how.mode, reason: how.reason, sweep: how.sweep },
      how.sweep
        ? 'stdio upstreams run in no PID namespace: they die with the gateway by a parent-death signal, and what they spawn is swept by its environment (a process that clears its environment escapes)'
        : 'stdio upstreams run in no PID namespace: they die with the gateway by a parent-death signal, but processes they spawn may outlive a kill -9 of it',
    );
  }

  parseFallback(upstream: string, error: Error): void {
    if (this.parseFallbackSaid) return;
    this.parseFallbackSaid = true;
    this.logger.warn(
      { upstream, err: error },
      'a long answer was parsed on the event loop: the inspection worker failed (logged once)',
    );
  }
}
