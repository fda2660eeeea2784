/**
 * The policy schema: the one source of the policy's TypeScript types. Every
 * object is strict (an unknown key is an error, so a typo never silently turns
 * a control off), and cross-references are checked here so a loaded policy is
 * internally consistent.
 */
import { z } from 'zod';
import { profile } from './profile.js';
import { EXPOSED_NAME, exposedName, toolRule } from './tool.js';
import { secretRef, textOrSecret } from './units.js';
import { UPSTREAM_NAME, upstream } from './upstream.js';

export const operator = z
  .object({
    token: secretRef.describe('the operator token, as a secret reference'),
    roles: z
      .array(z.string().regex(/^[a-z][a-z0-9_-]*$/))
      .min(1)
      .describe('admin, operator, viewer, approver or your own'),
  })
  .strict();
export type OperatorConfig = z.infer<typeof operator>;

export const notifier = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('webhook'),
      url: textOrSecret,
      signing_key: secretRef.optional().describe('HMAC-SHA256 key for the X-Bulkhead-Signature header'),
      events: z.array(z.string()).optional().describe('event kinds to send; all when absent'),
    })
    .strict(),
  z
    .object({
      type: z.literal('slack'),
      url: textOrSecret.describe('a Slack-compatible incoming webhook URL'),
      events: z.array(z.string()).optional(),
    })
    .strict(),
]);
export type NotifierConfig = z.infer<typeof notifier>;

export const modelPrice = z
  .object({
    input: z.number().nonnegative().describe('USD per million input tokens'),
    output: z.number().nonnegative(),
    cache_write: z.number().nonnegative().optional(),
    cache_read: z.number().nonnegative().optional(),
  })
  .strict();

export const llm = z
  .object({
    base_url: z
      .url({ protocol: /^https?$/, error: 'an http or https URL' })
      .describe('the real Messages API, e.g. its /v1 parent'),
    api_key: secretRef,
    prices: z.record(z.string(), modelPrice).default({}),
    server_tool_prices: z
      .record(z.string(), z.number().nonnegative())
      .default({})
      .describe(
        'USD per use of a server tool, by name without the date (web_search, file_search, web_fetch, image_generation, code_interpreter, code_execution); over the defaults web_search 0.01, file_search 0.0025, image_generation 0.25, code_interpreter 0.03 (a 1 GB container; larger ones by their memory), code_execution 0.05 (a container hour, per request)',
      ),
    stream_idle_s: z
      .number()
      .int()
      .positive()
      .max(3600)
      .default(300)
      .describe(
        'seconds a streamed answer may go without a whole event before it is cut (the APIs ping every few seconds)',
      ),
  })
  .strict();

export const store = z.union([
  z.object({ sqlite: z.string().min(1).describe('file path, relative to the policy') }).strict(),
  z.object({ postgres: z.object({ url: textOrSecret }).strict() }).strict(),
]);
export type StoreConfig = z.infer<typeof store>;

export const scrubConfig = z
  .object({
    secrets: z.array(secretRef).default([]).describe('more known secrets to keep out of every sink'),
    disable_rules: z.array(z.string()).default([]),
  })
  .strict();

export const gatewayConfig = z
  .object({
    public_url: z.url().optional().describe('how operators reach the dashboard, for links in notifications'),
    max_body: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024),
    stream_responses: z
      .boolean()
      .default(false)
      .describe('answer tool calls as SSE streams, so progress notifications reach waiting agents (slower)'),
    oauth: z
      .boolean()
      .default(true)
      .describe(
        'offer OAuth (discovery, registration, a one-time run grant) to MCP clients that cannot send the run token; needs an https or loopback public URL',
      ),
  })
  .strict();

export const policySchema = z
  .object({
    version: z.literal(1),
    gateway: gatewayConfig.default({ max_body: 4 * 1024 * 1024, stream_responses: false, oauth: true }),
    store: store.default({ sqlite: 'bulkhead.db' }),
    upstreams: z.record(z.string().regex(UPSTREAM_NAME, 'lowercase letters, digits and -'), upstream),
    tools: z.record(z.string(), z.record(z.string(), toolRule)).default({}),
    profiles: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/), profile),
    operators: z.record(z.string(), operator).default({}),
    notifiers: z.record(z.string(), notifier).default({}),
    llm: llm.optional(),
    scrub: scrubConfig.default({ secrets: [], disable_rules: [] }),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const exposed = new Map<string, string>();
    for (const [up, rules] of Object.entries(policy.tools)) {
      if (!(up in policy.upstreams)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tools', up],
          message: `no upstream named "${up}" is declared`,
        });
        continue;
      }
      for (const [tool, rule] of Object.entries(rules)) {
        const name = exposedName(up, tool, rule);
        const path = ['tools', up, tool];
        if (!EXPOSED_NAME.test(name)) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `exposed name "${name}" must match ^[a-zA-Z0-9_-]{1,64}$; add a rename`,
          });
        }
        const other = exposed.get(name);
        if (other)
          ctx.addIssue({
            code: 'custom',
            path,
            message: `exposed name "${name}" is already used by ${other}`,
          });
        exposed.set(name, `${up}.${tool}`);
      }
    }
    const roles = new Set(Object.values(policy.operators).flatMap((o) => o.roles));
    for (const [up, rules] of Object.entries(policy.tools)) {
      for (const [tool, rule] of Object.entries(rules)) {
        for (const role of rule.approval?.approvers ?? []) {
          if (roles.size > 0 && !roles.has(role) && !['approver', 'admin'].includes(role)) {
            ctx.addIssue({
              code: 'custom',
              path: ['tools', up, tool, 'approval', 'approvers'],
              message: `no operator has the role "${role}"`,
            });
          }
        }
      }
    }
    for (const [name, prof] of Object.entries(policy.profiles)) {
      prof.tools.forEach((tool, i) => {
        if (!exposed.has(tool)) {
          const hint = [...exposed.keys()].find((n) => n.toLowerCase() === tool.toLowerCase());
          ctx.addIssue({
            code: 'custom',
            path: ['profiles', name, 'tools', i],
            message: `no exposed tool named "${tool}"${hint ? `; did you mean "${hint}"?` : ''}`,
          });
        }
      });
      for (const tool of Object.keys(prof.budgets.per_tool)) {
        if (!prof.tools.includes(tool)) {
          ctx.addIssue({
            code: 'custom',
            path: ['profiles', name, 'budgets', 'per_tool', tool],
            message: `"${tool}" is not in this profile's tools`,
          });
        }
      }
    }
  });

/** A validated policy, with every default filled in. */
export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

export type { Profile } from './profile.js';
export type {
  ApprovalRule,
  ArgumentCondition,
  ArgumentTightening,
  DataSources,
  ToolClass,
  ToolRule,
} from './tool.js';
export { EXPOSED_NAME, exposedName, TOOL_CLASSES } from './tool.js';
export type { Rate, SecretRef, TextOrSecret } from './units.js';
export type { HttpUpstreamConfig, StdioUpstreamConfig, UpstreamConfig } from './upstream.js';
export { isStdio } from './upstream.js';
