import { describe, expect, it } from 'vitest';
import { budgets } from '../policy/schema/profile.js';
import { budgetUsage } from './usage.js';

const run = { createdAt: 1_000, expiresAt: 61_000, endedAt: null };
const tokens = { input: 100, output: 40, usd: 0.5, requests: 2 };

describe('budgetUsage', () => {
  it('lists every dimension with its cap, null where the profile sets none', () => {
    const rows = budgetUsage({
      budgets: budgets.parse({ tool_calls: 10, tokens: { output: 1000 }, usd: 2 }),
      calls: { calls: 3, perTool: {} },
      tokens,
      run,
      now: 11_000,
    });
    expect(rows).toEqual([
      { dimension: 'tool_calls', used: 3, cap: 10 },
      { dimension: 'wall_clock', used: 10_000, cap: 60_000 },
      { dimension: 'input_tokens', used: 100, cap: null },
      { dimension: 'output_tokens', used: 40, cap: 1000 },
      { dimension: 'total_tokens', used: 140, cap: null },
      { dimension: 'usd', used: 0.5, cap: 2 },
    ]);
  });

  it('adds one row per tool that was called or has a per-tool cap', () => {
    const rows = budgetUsage({
      budgets: budgets.parse({ per_tool: { db__write: { calls: 2 } } }),
      calls: { calls: 4, perTool: { db__read: 4 } },
      tokens,
      run,
      now: 2_000,
    });
    expect(rows.filter((r) => r.tool)).toEqual([
      { dimension: 'tool_calls', tool: 'db__read', used: 4, cap: null },
      { dimension: 'tool_calls', tool: 'db__write', used: 0, cap: 2 },
    ]);
  });

  it('stops the wall clock when the run ended', () => {
    const rows = budgetUsage({
      budgets: undefined,
      calls: { calls: 0, perTool: {} },
      tokens,
      run: { ...run, endedAt: 5_000 },
      now: 50_000,
    });
    expect(rows.find((r) => r.dimension === 'wall_clock')?.used).toBe(4_000);
  });
});
