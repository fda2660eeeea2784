/** What the gateway is started with (`GatewayOptions`) and what a started gateway is (`Gateway`); gateway.ts. */
import type { ApprovalService } from '../approvals/service.js';
import type { AuditCheckpoints } from '../events/checkpoints.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { LoadedPolicy } from '../policy/load.js';
import type { StoreConfig } from '../policy/schema/index.js';
import type { LeaseOptions, ReplicaLease } from '../replicas/lease.js';
import type { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import type { Store } from '../store/store.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { Catalog } from './catalog.js';
import type { McpEndpoint } from './mcp-endpoint.js';
import type { Metrics } from './metrics.js';
import type { ReloadOutcome } from './reload.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface GatewayOptions {
  loaded: LoadedPolicy;
  port?: number;
  host?: string;
  /** Where secret references are read from; the process environment by default. */
  env?: NodeJS.ProcessEnv;
  /** Folder for the local operator token; `~/.bulkhead` by default. */
  home?: string;
  logger?: Logger;
  /** Log destination when no logger is given (fd or stream). */
  logDestination?: number | NodeJS.WritableStream;
  /** Log level when no logger is given (`info` by default, or BULKHEAD_LOG_LEVEL). */
  logLevel?: string;
  /** Replaces the policy's `store` (BULKHEAD_STORE_URL), also for every reloaded policy. */
  store?: StoreConfig;
  /** OpenTelemetry tracing (tracingFromEnv); off when absent. */
  tracing?: Tracing;
  /** Serve HTTPS with this PEM certificate chain and private key (file contents). */
  tls?: { cert: string; key: string };
  now?: () => number;
  /** Replica lease timing (defaults: 5 s lease, 1 s heartbeat). */
  lease?: LeaseOptions;
  /** How often idle upstreams are pinged (default 5 s). */
  pingMs?: number;
  /** How often an audit checkpoint is recorded (default 5 minutes). */
  checkpointMs?: number;
  /** How decisions and kills made on other replicas reach this one (tests and benchmarks). */
  propagation?: PropagationOptions;
}

export interface PropagationOptions {
  /** false: no PostgreSQL LISTEN, so other replicas' decisions and kills are seen by polling only. */
  listen?: boolean;
  /** Approval and kill re-read interval without LISTEN (defaults: approvals 500 ms, kills 250 ms). */
  pollMs?: number;
  /** Approval and kill re-read interval while LISTEN is up (default 2 s): the fallback for a lost NOTIFY. */
  fallbackPollMs?: number;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly localToken: string;
  readonly localTokenPath: string;
  readonly store: Store;
  readonly runs: RunService;
  readonly catalog: Catalog;
  readonly pool: UpstreamPool;
  readonly events: EventWriter;
  readonly scrubber: Scrubber;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly approvals: ApprovalService;
  readonly notifier: Notifier;
  /** Re-reads the policy file (see reload.ts); `actor` is recorded in the audit event. */
  reload(actor: string): Promise<ReloadOutcome>;
  /** The agents' MCP endpoint (its session figures are read by tests and the soak bench). */
  readonly mcp: McpEndpoint;
  readonly lease: ReplicaLease;
  readonly audit: AuditCheckpoints;
  close(): Promise<void>;
}
