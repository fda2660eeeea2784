/**
 * A gateway whose one tool, `orders__refund_order`, waits for an `admin`'s
 * approval, with what the CLI needs to reach it: for tests of what operators
 * see and do from the command line.
 */
import { join } from 'node:path';
import { type CliGateway, useCliGateway } from './cli.js';
import { exampleUpstream, tempDir } from './harness.js';

/** Call at the top of a test file; read the fields inside its tests. */
export function useRefundDesk(upstreamToken: string): CliGateway {
  const dir = tempDir();
  return useCliGateway(
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
}
