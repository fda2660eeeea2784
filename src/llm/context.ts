/**
 * What every part of the LLM proxy shares: its dependencies, the configured
 * API, and how an agent's request is authenticated (its run token as
 * `x-api-key` or a bearer; never forwarded).
 */
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import type { Store } from '../store/store.js';
import { runTokenLookup } from './run-tokens.js';
import { type UpstreamTarget, upstreamTarget } from './upstream.js';

export interface LlmProxyDeps {
  policy: Policy;
  apiKey: string;
  store: Store;
  runs: RunService;
  events: EventWriter;
  logger: Logger;
  /** The scrubber for what agents of a profile receive (its PII actions). */
  scrubberFor(profile: string): Scrubber;
  /** Where budget threshold alerts go besides the audit log; none when undefined. */
  notifier?: Notifier;
  /** Largest request body accepted, in bytes. */
  maxBody?: number;
}

export interface ProxyContext {
  readonly deps: LlmProxyDeps;
  readonly llm: Policy['llm'];
  readonly maxBody: number;
  /** Where a request for `path` (`/v1/messages`) goes, under the configured base URL; one per path. */
  upstream(path: string): UpstreamTarget;
  authenticate(req: Request): Promise<Run | undefined>;
  /**
   * The run of a remembered run token as the store last read it, not read now: only for a
   * request whose reservation confirms it (`SpendInput.checked`). Undefined when the store
   * remembers no runs (PostgreSQL), or the run is not remembered, not active or expired.
   */
  rememberedRun(req: Request): Run | undefined;
}

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;

const tokenOf = (req: Request): string | undefined =>
  req.headers.get('x-api-key') ?? /^Bearer\s+(\S+)$/i.exec(req.headers.get('authorization') ?? '')?.[1];

export function proxyContext(deps: LlmProxyDeps): ProxyContext {
  const llm = deps.policy.llm;
  const base = llm?.base_url.replace(/\/+$/, '') ?? '';
  const runOf = runTokenLookup(deps.runs, deps.store.rememberedRun?.bind(deps.store));
  const targets = new Map<string, UpstreamTarget>();
  return {
    deps,
    llm,
    maxBody: deps.maxBody ?? DEFAULT_MAX_BODY,
    upstream: (path) => {
      let target = targets.get(path);
      if (!target) {
        target = upstreamTarget(new URL(`${base}${path}`));
        targets.set(path, target);
      }
      return target;
    },
    authenticate: async (req) => {
      const key = tokenOf(req);
      return key ? runOf(key) : undefined;
    },
    rememberedRun: (req) => {
      const key = tokenOf(req);
      return key ? runOf.remembered(key) : undefined;
    },
  };
}
