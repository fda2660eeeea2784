/**
 * What a run is recorded as having received from a private source, for the
 * evidence an approver and the audit are given when it leaves. An address
 * a private tool answered with as a structured key (`{ "dana@…": {…} }`,
 * a map by customer) or in a resource link's name was not taken, so the
 * same address in a later external call went unrecognised.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { valuesInResult } from './values.js';

const EMAIL = 'dana.whitfield@customer.example';

describe('values received in a tool result', () => {
  it('takes an address that is a key of structured content', () => {
    const result = { content: [], structuredContent: { [EMAIL]: { orders: 3 } } } as CallToolResult;
    expect(valuesInResult(result)).toContainEqual({ kind: 'email', value: EMAIL });
  });

  it('takes a phone number that is a key of structured content', () => {
    const result = { content: [], structuredContent: { '+1 415 555 0123': 'Dana' } } as CallToolResult;
    expect(valuesInResult(result)).toContainEqual({ kind: 'phone', value: '4155550123' });
  });

  it("takes an address in a resource link's name and description", () => {
    const result = {
      content: [{ type: 'resource_link', uri: 'crm://c/7', name: 'card', description: `Card of ${EMAIL}` }],
    } as CallToolResult;
    expect(valuesInResult(result)).toContainEqual({ kind: 'email', value: EMAIL });
  });

  it('does not take an ordinary key as a value', () => {
    const result = { content: [], structuredContent: { created_at: 1 } } as CallToolResult;
    expect(valuesInResult(result)).toEqual([]);
  });
});
