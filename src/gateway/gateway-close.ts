/** The gateway's shutdown, in order: no new work, sessions, replica duties, server, upstreams, store (gateway.ts). */
import type { ServerType } from '@hono/node-server';
import type { AuditCheckpoints } from '../events/checkpoints.js';
import type { EventWriter } from '../events/writer.js';
import type { Notifier } from '../notify/notifier.js';
import type { ReplicaLease } from '../replicas/lease.js';
import type { RunService } from '../runs/service.js';
import type { Store } from '../store/store.js';
import type { McpEndpoint } from './mcp-endpoint.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface ClosingParts {
  runs: RunService;
  mcp: McpEndpoint;
  audit: AuditCheckpoints;
  lease: ReplicaLease;
  notifier: Notifier;
  server: ServerType;
  pool: UpstreamPool;
  events: EventWriter;
  store: Store;
}

export async function closeGateway({
  runs,
  mcp,
  audit,
  lease,
  notifier,
  server,
  pool,
  events,
  store,
}: ClosingParts): Promise<void> {
  runs.close();
  await mcp.close();
  await audit.stop();
  await lease.stop();
  notifier.close?.();
  await notifier.drain();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  await pool.close();
  await events.drain();
  await store.close();
}
