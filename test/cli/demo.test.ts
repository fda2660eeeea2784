/** The README's first command: `bulkhead demo` runs end to end and every decision is the expected one. */
import { describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { tempDir } from '../helpers/harness.js';

describe('bulkhead demo', () => {
  it('runs the example end to end with every decision as expected', async () => {
    const result = await bulkhead(['demo'], { env: { BULKHEAD_HOME: tempDir() }, timeoutMs: 90_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('The agent sees 6 of the');
    expect(result.stdout).toContain(
      'invalid_arguments: Argument /order_id does not match the required pattern.',
    );
    expect(result.stdout).toContain('approval_denied: A human declined this call');
    expect(result.stdout).toMatch(/Audit trail: 15 tool calls recorded for run_\S+ — 5 allowed, 10 denied\./);
  }, 120_000);
});
