/**
 * A gateway whose one tool, `orders__refund_order`, waits for an `admin`'s
 * approval, and the environment the CLI needs to reach it: for tests of what
 * operators see and do from the command line.
 */
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { exampleUpstream, startTestGateway, type TestGateway, tempDir } from './harness.js';

export interface RefundDesk {
  gw: TestGateway;
  /** BULKHEAD_HOME and BULKHEAD_GATEWAY for `bulkhead` commands. */
  env: Record<string, string>;
}

/** Starts the gateway before the file's tests and closes it after them; read the desk inside tests. */
export function useRefundDesk(upstreamToken: string): RefundDesk {
  const dir = tempDir();
  const desk = {} as RefundDesk;
  beforeAll(async () => {
    desk.gw = await startTestGateway(
      `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: upstreamToken, ORDERS_DB: JSON.stringify(join(dir, 'orders.db')) })}
tools:
  orders:
    refund_order: { class: irreversible, approval: { approvers: [admin] } }
profiles:
  agent:
    tools: [orders__refund_order]
`,
      { dir },
    );
    desk.env = { BULKHEAD_HOME: join(dir, 'home'), BULKHEAD_GATEWAY: desk.gw.gateway.url };
  });
  afterAll(async () => {
    await desk.gw?.close();
  });
  return desk;
}
