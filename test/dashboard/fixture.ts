/**
 * The dashboard tests' gateway: the orders example as upstream (with its
 * credential as a canary and its leaking test tools on), `refund_order`
 * gated behind an approval, and operators with different roles.
 */
import { join } from 'node:path';
import { exampleUpstream, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';

export const CANARY = 'orders-canary-7d1e0c9b42f5a8';
export const ADMIN_TOKEN = 'bho_dashboard-admin-token-0001';
export const VIEWER_TOKEN = 'bho_dashboard-viewer-token-0002';

export function dashboardPolicy(dir: string): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', {
  ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }',
  ORDERS_DB: JSON.stringify(join(dir, 'orders.db')),
  ORDERS_TEST_LEAKS: "'1'",
})}
tools:
  orders:
    get_order_status: { class: read }
    list_orders: { class: read }
    leak_token_for_test: { class: read }
    refund_order:
      class: irreversible
      approval: { approvers: [admin], timeout: 2m, allow_edit: true }
operators:
  alice: { token: { secret: ADMIN_TOKEN }, roles: [admin] }
  victor: { token: { secret: VIEWER_TOKEN }, roles: [viewer] }
profiles:
  support-agent:
    tools: [orders__get_order_status, orders__list_orders, orders__leak_token_for_test, orders__refund_order]
    budgets: { tool_calls: 40, wall_clock: 30m }
`;
}

export async function startDashboardGateway(): Promise<TestGateway> {
  const dir = tempDir('bulkhead-dashboard-');
  return startTestGateway(dashboardPolicy(dir), {
    dir,
    env: { ORDERS_API_TOKEN: CANARY, ADMIN_TOKEN, VIEWER_TOKEN },
  });
}
