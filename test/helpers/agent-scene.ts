/**
 * What the tests of real agents share beyond running them: the orders policy
 * they run under, a copy of the agent where an agent installed outside /usr
 * would be, and (for Claude Code) the model's tool blocks and the tool results
 * it sent back.
 */
import { chmodSync, cpSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { ScriptBlock } from '../fakes/fake-anthropic.js';

/** The betas the pinned Claude Code sends; none of them opens a side door (server tools, URLs). */
export const CLAUDE_BETAS = [
  'claude-code-20250219',
  'interleaved-thinking-2025-05-14',
  'context-management-2025-06-27',
  'prompt-caching-scope-2026-01-05',
  'effort-2025-11-24',
];

export interface OrdersAgentPolicy {
  /** The `orders` upstream's lines (exampleUpstream or ordersUpstream). */
  upstream: string;
  llmUrl: string;
  /** Extra tool rules under `tools.orders`, one per line, already indented by four. */
  extraTools?: string[];
  /** The profile's tools; default the two below. */
  profileTools?: string[];
  /** The profile's `llm:` block, indented by six (models or betas). */
  profileLlm: string;
}

/** Profile `coder` with the orders status read and the refund gated on `approver`, `alice` approving. */
export function ordersAgentPolicy(p: OrdersAgentPolicy): string {
  const tools = p.profileTools ?? ['orders__get_order_status', 'orders__refund_order'];
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${p.upstream}
tools:
  orders:
    get_order_status: { class: read, arguments: { order_id: { pattern: "^ORD-[0-9]{6}$" } } }
    refund_order: { class: irreversible, approval: { approvers: [approver], timeout: 10m } }
${(p.extraTools ?? []).join('\n')}
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
llm:
  base_url: ${p.llmUrl}
  api_key: { secret: ANTHROPIC_API_KEY }
profiles:
  coder:
    tools: [${tools.join(', ')}]
    sandbox: { memory: 1G, pids: 512, tmp_size: 256M, weaker_limits: true }
    llm:
${p.profileLlm}
`;
}

/**
 * Copies `source` (a file or a package folder) into a fresh folder under
 * /var/tmp and returns that folder: the jail mounts no part of this checkout,
 * nothing under $HOME and not /tmp, and runs as its own uid, which must reach
 * the agent's files (as under /usr/local).
 */
export function agentCopy(prefix: string, source: string, name: string): string {
  const packageDir = mkdtempSync(`/var/tmp/${prefix}`);
  chmodSync(packageDir, 0o755);
  cpSync(source, join(packageDir, name), { recursive: true });
  return packageDir;
}

export function toolUse(id: string, tool: string, input: Record<string, unknown>): ScriptBlock {
  return { type: 'tool_use', id, name: `mcp__bulkhead__${tool}`, chunks: [JSON.stringify(input)] };
}

export type Message = {
  role: string;
  content:
    | string
    | { type: string; text?: string; tool_use_id?: string; content?: unknown; is_error?: boolean }[];
};

/** Tool results Claude Code sent back to the model, by tool_use id. */
export function claudeToolResults(
  received: readonly { body: Record<string, unknown> }[],
): Map<string, { text: string; isError: boolean }> {
  const out = new Map<string, { text: string; isError: boolean }>();
  for (const r of received) {
    for (const m of (r.body.messages as Message[] | undefined) ?? []) {
      if (typeof m.content === 'string') continue;
      for (const block of m.content) {
        if (block.type !== 'tool_result' || !block.tool_use_id) continue;
        out.set(block.tool_use_id, { text: JSON.stringify(block.content), isError: block.is_error === true });
      }
    }
  }
  return out;
}
