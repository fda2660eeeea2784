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
  /** The API's URL for `path` (`/v1/messages`), under the configured base URL. */
  upstreamUrl(path: string): URL;
  authenticate(req: Request): Promise<Run | undefined>;
}

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;

export function proxyContext(deps: LlmProxyDeps): ProxyContext {
  const llm = deps.policy.llm;
  const base = llm?.base_url.replace(/\/+$/, '') ?? '';
  const runOf = runTokenLookup(deps.runs);
  return {
    deps,
    llm,
    maxBody: deps.maxBody ?? DEFAULT_MAX_BODY,
    upstreamUrl: (path) => new URL(`${base}${path}`),
    authenticate: async (req) => {
      const key =
        req.headers.get('x-api-key') ?? /^Bearer\s+(\S+)$/i.exec(req.headers.get('authorization') ?? '')?.[1];
      return key ? runOf(key) : undefined;
    },
  };
}
