/**
 * Composition of the gateway: policy → secrets → scrubber → store (gateway-store.ts) →
 * runs → upstream pool → catalog → approvals → lease and audit (gateway-replica.ts) →
 * pipeline (call-pipeline.ts) → HTTP (http-app.ts, listening: gateway-listen.ts); closed
 * in order by gateway-close.ts.
 * Each part receives what it depends on; nothing here holds logic of its own
 * beyond wiring, and nothing lower down imports this file.
 */
import { ApprovalService } from '../approvals/service.js';
import { lockPathFor, readLock } from '../audit/pin.js';
import { Sessions } from '../dashboard/sessions.js';
import { BulkheadError } from '../errors.js';
import { EventWriter } from '../events/writer.js';
import { createLogger } from '../log.js';
import { createNotifier, type Notifier } from '../notify/notifier.js';
import { DEFAULT_MAX_OUTPUT } from '../pipeline/inspect.js';
import { resolveAllSecrets, type SecretSource } from '../policy/secrets.js';
import { StoreClock } from '../replicas/store-clock.js';
import { RunService } from '../runs/service.js';
import { callPipeline } from './call-pipeline.js';
import { Catalog } from './catalog.js';
import { DefinitionPins } from './definition-pins.js';
import { closeGateway } from './gateway-close.js';
import { listenGateway } from './gateway-listen.js';
import { startReplica } from './gateway-replica.js';
import { openGatewayStore } from './gateway-store.js';
import type { Gateway, GatewayOptions } from './gateway-types.js';
import { createHttpApp } from './http-app.js';
import { McpEndpoint } from './mcp-endpoint.js';
import { Metrics } from './metrics.js';
import type { OAuthMount } from './oauth/index.js';
import { offeredChanged } from './offered-changed.js';
import { mintLocalToken, OperatorAuth } from './operators.js';
import type { PassthroughDeps } from './passthrough.js';
import { canonical, changedProfiles, PolicyReloader, toolLists } from './reload.js';
import { responder } from './respond.js';
import { createScrubbers } from './scrubbers.js';
import { UpstreamPool } from './upstream-pool.js';

export type { Gateway, GatewayOptions, PropagationOptions } from './gateway-types.js';

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
  const store = await openGatewayStore(options, { policy, source, metrics, clock });
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
  // Each notice is kept in the store until delivered: a crash's are sent by the next replica.
  const outbox = { store: store.notices, owner: store.replica };
  let currentNotifier = createNotifier(policy, { source, scrubber, logger, outbox });
  const notifier: Notifier = {
    send: (notice) => currentNotifier.send(notice),
    drain: () => currentNotifier.drain(),
    recover: async () => (await currentNotifier.recover?.()) ?? 0,
    close: () => currentNotifier.close?.(),
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
  const { lease, audit } = await startReplica(options, {
    policy,
    source,
    store,
    events,
    approvals,
    runs,
    logger,
    notifier,
    clock,
  });
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
    gatewaySecrets: scrubbers.gatewaySecrets,
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
    gatewaySecrets: scrubbers.gatewaySecrets,
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
      const nextNotifier = createNotifier(next, { source, scrubber, logger, outbox });
      // A definition re-pinned after review is served from this reload on (a bad lock fails it).
      const nextLock = readLock(lockPathFor(options.loaded.file));
      return () => {
        pins.setLock(nextLock);
        scrubber.addSecrets(nextSecrets);
        scrubberFor = createScrubbers(next, [], scrubbers.sinks).forProfile;
        operators.adopt(nextOperators);
        const previous = currentNotifier;
        currentNotifier = nextNotifier;
        // Its kept notices are the new one's to send at their next round.
        previous.close?.();
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

  const { server, port, url: listening, localTokenPath } = await listenGateway(http.app, options, localToken);
  url = listening;
  publicUrl ||= url;
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
      await closeGateway({ runs, mcp, audit, lease, notifier, server, pool, events, store });
    },
  };
}
