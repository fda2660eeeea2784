/**
 * Composition of the gateway: policy → secrets → scrubber → store → runs →
 * upstream pool → catalog → pipeline (call-pipeline.ts) → HTTP (http-app.ts).
 * Each part receives what it depends on; nothing here holds logic of its own
 * beyond wiring, and nothing lower down imports this file.
 */
import type { AddressInfo } from 'node:net';
import { ApprovalService } from '../approvals/service.js';
import { lockPathFor, readLock } from '../audit/pin.js';
import { Sessions } from '../dashboard/sessions.js';
import { BulkheadError } from '../errors.js';
import { anchorPath } from '../events/anchor.js';
import { AuditCheckpoints } from '../events/checkpoints.js';
import { EventWriter } from '../events/writer.js';
import { reconcileReservations } from '../llm/reconcile.js';
import { createLogger, type Logger } from '../log.js';
import { createNotifier, type Notifier } from '../notify/notifier.js';
import { DEFAULT_MAX_OUTPUT } from '../pipeline/inspect.js';
import type { LoadedPolicy } from '../policy/load.js';
import type { Policy, StoreConfig } from '../policy/schema/index.js';
import { resolveAllSecrets, type SecretSource } from '../policy/secrets.js';
import { type LeaseOptions, ReplicaLease } from '../replicas/lease.js';
import { StoreClock } from '../replicas/store-clock.js';
import { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import { openStore, storeLocation } from '../store/open.js';
import type { Store } from '../store/store.js';
import { timedStore } from '../telemetry/store-timing.js';
import type { Tracing } from '../telemetry/tracing.js';
import { callPipeline } from './call-pipeline.js';
import { Catalog } from './catalog.js';
import { DefinitionPins } from './definition-pins.js';
import { createHttpApp, listen } from './http-app.js';
import { bulkheadHome } from './local-home.js';
import { McpEndpoint } from './mcp-endpoint.js';
import { Metrics } from './metrics.js';
import type { OAuthMount } from './oauth/index.js';
import { offeredChanged } from './offered-changed.js';
import { mintLocalToken, OperatorAuth, writeLocalToken } from './operators.js';
import type { PassthroughDeps } from './passthrough.js';
import { canonical, changedProfiles, PolicyReloader, type ReloadOutcome, toolLists } from './reload.js';
import { responder } from './respond.js';
import { createScrubbers } from './scrubbers.js';
import { UpstreamPool } from './upstream-pool.js';

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

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { policy, dir } = options.loaded;
  if (options.store) policy.store = options.store;
  // Times replicas compare (deadlines, expiries) by the store's clock, not this host's (store-clock.ts).
  const clock = new StoreClock();
  const now = options.now ?? clock.now;
  const source: SecretSource = { env: options.env ?? process.env, dir };
  // Fails before anything starts, naming the missing reference.
  const secrets = resolveAllSecrets(policy, source);
  const scrubbers = createScrubbers(policy, secrets);
  const scrubber = scrubbers.sinks;
  const logger =
    options.logger ??
    createLogger({
      scrubber,
      ...(options.logDestination !== undefined ? { destination: options.logDestination } : {}),
      ...(options.logLevel !== undefined ? { level: options.logLevel } : {}),
    });
  const metrics = new Metrics();
  const propagation = options.propagation ?? {};
  const opened = await openStore(policy, source, {
    ...(propagation.listen !== undefined ? { listen: propagation.listen } : {}),
    // Checkpoints' fsyncs off the event loop every call shares (store/sqlite/checkpointer.ts).
    backgroundCheckpoints: true,
  });
  const store = timedStore(opened, (op, ok, seconds) => metrics.storeOperation(op, ok, seconds));
  if (!options.now) await clock.sync(store.replicas);
  const events = new EventWriter(store.events, scrubber);
  events.subscribe((e) => metrics.observe(e));
  const runs = new RunService({
    store,
    policy,
    events,
    scrubber,
    now,
    logger,
    ...(propagation.pollMs !== undefined ? { watchMs: propagation.pollMs } : {}),
    ...(propagation.fallbackPollMs !== undefined ? { fallbackWatchMs: propagation.fallbackPollMs } : {}),
  });
  await runs.resume();

  let endpoint: McpEndpoint | undefined;
  let passthrough: PassthroughDeps | undefined;
  // The notifier and the per-profile scrubbers follow policy reloads: callers hold these
  // delegates, which read the current instances.
  let currentNotifier = createNotifier(policy, { source, scrubber, logger });
  const notifier: Notifier = {
    send: (notice) => currentNotifier.send(notice),
    drain: () => currentNotifier.drain(),
  };
  let scrubberFor = scrubbers.forProfile;
  // Pins: with a lock file beside the policy, only definitions as reviewed are served.
  const pins = new DefinitionPins(readLock(lockPathFor(options.loaded.file)), { events, notifier, logger });
  const catalog = new Catalog({
    rules: policy.tools,
    // Definitions are shown to every agent: scrubbed like any sink, hidden characters removed.
    scrub: (text) => scrubber.text(text),
    onCleaned: (entry, findings) =>
      logger.warn({ tool: entry.exposed, findings }, 'tool definition cleaned before serving'),
    admit: (entry) => pins.admitTool(entry),
    onProblem: (p) =>
      logger.error(
        { upstream: p.upstream, tool: p.tool, code: p.code },
        `tool not exposed (${p.code}): ${p.message}`,
      ),
  });
  const pool = new UpstreamPool({
    upstreams: policy.upstreams,
    source,
    logger,
    ...(options.pingMs !== undefined ? { pingMs: options.pingMs } : {}),
    scrub: (text) => scrubber.text(text),
    ...(options.tracing ? { fetch: options.tracing.fetch } : {}),
    // Read live: a reload replaces the policy's sections in place.
    outputLimit: (upstream, tool) => {
      const rule = policy.tools[upstream]?.[tool];
      return rule ? (rule.max_output ?? DEFAULT_MAX_OUTPUT) : undefined;
    },
    onTools: (upstream, tools) => {
      // Only the sessions whose profile sees a different list are told to re-list.
      const before = toolLists(policy, catalog);
      catalog.update(upstream, tools);
      endpoint?.toolsChanged(changedProfiles(before, toolLists(policy, catalog)));
    },
    onOfferedChanged: (upstream, what) => {
      if (!endpoint || !passthrough) return;
      const mcp = endpoint;
      return offeredChanged(passthrough, upstream, what, (u, w) => mcp.offeredChanged(u, w)).catch(
        (error: unknown) => logger.warn({ upstream, err: error }, `re-listing ${what} failed`),
      );
    },
  });
  try {
    // Only an upstream marked `required: true` that cannot start stops the gateway; any other
    // starts degraded (down, reported in health, its tools absent) and is retried in the background.
    await pool.start();
  } catch (error) {
    runs.close();
    await pool.close();
    await store.close();
    throw error;
  }

  let publicUrl = policy.gateway.public_url ?? '';
  const approvals = new ApprovalService({
    store,
    events,
    notifier,
    runs,
    now,
    linkFor: (id) => `${publicUrl}/ui/approvals/${id}`,
    scrubber,
    logger,
    ...(propagation.pollMs !== undefined ? { pollMs: propagation.pollMs } : {}),
    ...(propagation.fallbackPollMs !== undefined ? { fallbackPollMs: propagation.fallbackPollMs } : {}),
  });
  await approvals.expireOverdue();
  // The lease first, then reconciliation: work of replicas that died (kill -9, lost host)
  // becomes outcome_unknown; work of live replicas is theirs and is left alone.
  const lease = new ReplicaLease(
    {
      store,
      events,
      approvals,
      logger,
      notifier,
      // LLM reservations of dead replicas are settled with their calls and approvals.
      reservations: () => reconcileReservations(store, policy.store, events, logger),
      ...(options.now ? {} : { clock }),
    },
    options.lease,
  );
  await lease.start();
  const audit = new AuditCheckpoints({
    store: store.events,
    events,
    logger,
    notifier,
    ...(options.checkpointMs !== undefined ? { intervalMs: options.checkpointMs } : {}),
    ...(anchorFor(policy, source, options.home) ?? {}),
  });
  await audit.start();
  const pipeline = callPipeline({
    policy,
    catalog,
    store,
    runs,
    events,
    notifier,
    approvals,
    pool,
    lease,
    metrics,
    logger,
    scrubber,
    scrubberFor: (profile) => scrubberFor(profile),
    now,
    hooks: [metrics.hook, ...(options.tracing ? [options.tracing.hook] : [])],
  });
  passthrough = {
    policy: () => policy,
    runs,
    pool,
    events,
    logger,
    scrubberFor: (profile) => scrubberFor(profile),
    scrubber,
    pins,
  };
  let oauth: OAuthMount | undefined;
  endpoint = new McpEndpoint({
    policy,
    runs,
    catalog,
    pipeline,
    events,
    logger,
    now,
    challenge: () => oauth?.challenge() ?? 'Bearer realm="bulkhead"',
    passthrough,
  });
  const mcp = endpoint;
  // Sessions of an ended run close after a grace period, so the refusals of its
  // in-flight calls still reach the agent instead of a dropped stream.
  runs.onEnd((run) => mcp.closeRunWhenQuiet(run.id, 2_000));

  metrics.attach({
    upstreams: () => pool.status(),
    pendingApprovals: async () =>
      (await store.approvals.list({ state: 'pending', limit: 10_000 })).map((a) => a.createdAt),
    sessions: () => mcp.sessionCount(),
    isTool: (name) => catalog.get(name) !== undefined,
    now,
  });
  const respond = responder(scrubber, (error) => logger.error({ err: error }, 'unexpected API error'));
  let url = '';
  const localToken = mintLocalToken();
  scrubber.addSecrets([localToken]);
  const operators = new OperatorAuth(policy, source, { token: localToken });
  const sessions = new Sessions({ now, store: store.sessions });
  const reloader = new PolicyReloader({
    file: options.loaded.file,
    live: policy,
    pool,
    catalog,
    toolsChanged: (profiles) => mcp.toolsChanged(profiles),
    events,
    logger,
    prepare: (next) => {
      if (options.store) next.store = options.store;
      if (canonical(next.scrub.disable_rules) !== canonical(policy.scrub.disable_rules)) {
        throw new BulkheadError('restart_required', 'changing scrub.disable_rules needs a restart');
      }
      // Everything that can fail (a missing secret) fails here, before anything changed.
      const nextSecrets = resolveAllSecrets(next, source);
      const nextOperators = new OperatorAuth(next, source, { token: localToken });
      const nextNotifier = createNotifier(next, { source, scrubber, logger });
      // A definition re-pinned after review is served from this reload on (a bad lock fails it).
      const nextLock = readLock(lockPathFor(options.loaded.file));
      return () => {
        pins.setLock(nextLock);
        scrubber.addSecrets(nextSecrets);
        scrubberFor = createScrubbers(next, [], scrubbers.sinks).forProfile;
        operators.adopt(nextOperators);
        const previous = currentNotifier;
        currentNotifier = nextNotifier;
        void previous.drain();
      };
    },
  });

  let accepting = true;
  const http = createHttpApp({
    policy,
    source,
    store,
    runs,
    catalog,
    pool,
    lease,
    audit,
    events,
    approvals,
    notifier,
    metrics,
    logger,
    scrubber,
    // Read at each request: a reload's PII actions apply to the LLM proxy's answers as to tool results.
    scrubberFor: (profile) => scrubberFor(profile),
    mcp,
    sessions,
    operators,
    respond,
    tracing: options.tracing,
    now,
    url: () => url,
    publicUrl: () => publicUrl,
    accepting: () => accepting,
    reload: (actor) => reloader.reload(actor),
  });
  oauth = http.oauth;

  const server = await listen(http.app, options.port ?? 7300, options.host ?? '127.0.0.1', options.tls);
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  publicUrl ||= url;
  const localTokenPath = writeLocalToken(localToken, port, options.home);
  logger.info({ url, upstreams: pool.status().map((s) => `${s.name}:${s.state}`) }, 'gateway listening');

  return {
    url,
    port,
    localToken,
    localTokenPath,
    store,
    runs,
    catalog,
    pool,
    events,
    scrubber,
    metrics,
    logger,
    approvals,
    notifier,
    reload: (actor) => reloader.reload(actor),
    mcp,
    lease,
    audit,
    async close() {
      accepting = false;
      runs.close();
      await mcp.close();
      await audit.stop();
      await lease.stop();
      await notifier.drain();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await pool.close();
      await events.drain();
      await store.close();
    },
  };
}

/** The audit anchor outside the store, in the gateway's home (none for an in-memory store). */
function anchorFor(
  policy: Policy,
  source: SecretSource,
  home: string | undefined,
): { anchor: { file: string; store: string } } | undefined {
  const store = storeLocation(policy, source);
  if (store === ':memory:') return undefined;
  return { anchor: { file: anchorPath(home ?? bulkheadHome(), store), store } };
}
