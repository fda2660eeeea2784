/**
 * The policy test file (`bulkhead test FILE`): a list of calls with the
 * decision each must get. The zod schema is the format's one source; see
 * docs/policy-tests.md.
 */
import { z } from 'zod';

const denialCode = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a denial code such as invalid_arguments');

export const expectation = z.union([
  z.literal('allow').describe('every check passes and no human is asked'),
  z.literal('hold').describe('the call waits for a human approval'),
  z.object({ deny: denialCode.describe('refused with this code') }).strict(),
  z.object({ hold: z.string().min(1).describe('held, and the reason contains this text') }).strict(),
]);
export type Expectation = z.infer<typeof expectation>;

const toolDefinition = z
  .object({
    description: z.string().optional(),
    inputSchema: z.record(z.string(), z.unknown()),
    annotations: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const policyTestCase = z
  .object({
    name: z.string().min(1).describe('what this case specifies, shown when it fails'),
    profile: z.string().min(1),
    tool: z.string().min(1).describe('the exposed name the agent calls (upstream__tool)'),
    arguments: z.unknown().default({}).describe('the arguments exactly as the agent sends them'),
    taint: z
      .array(z.string())
      .default([])
      .describe('sources of untrusted content the run has already read (tool names)'),
    before: z
      .array(z.object({ tool: z.string().min(1), arguments: z.unknown().default({}) }).strict())
      .default([])
      .describe('calls the run made earlier in the same run (they count against budgets and the loop guard)'),
    expect: expectation,
  })
  .strict();
export type PolicyTestCase = z.infer<typeof policyTestCase>;

export const policyTestFile = z
  .object({
    policy: z.string().min(1).optional().describe('the policy under test, relative to this file'),
    definitions: z
      .record(z.string(), z.record(z.string(), toolDefinition))
      .default({})
      .describe('upstream → tool → definition as the upstream lists it; else the pin lock beside the policy'),
    tests: z.array(policyTestCase).min(1),
  })
  .strict();
export type PolicyTestFile = z.infer<typeof policyTestFile>;
