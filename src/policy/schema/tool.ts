/**
 * Tool rules: how one upstream tool is exposed. A tool with no rule is not
 * exposed at all (deny by default); a rule can only narrow what the upstream
 * accepts, never widen it.
 */
import { z } from 'zod';
import { compileLinear } from '../../util/linear-regexp.js';
import { duration, rate, size } from './units.js';

export const TOOL_CLASSES = ['read', 'write', 'irreversible', 'external'] as const;
export const toolClass = z
  .enum(TOOL_CLASSES)
  .describe(
    'read: no side effects; write: reversible change; irreversible: cannot be undone; external: sends data out',
  );
export type ToolClass = z.infer<typeof toolClass>;

/** What a tool's output is, for flow rules: public (default), private (customer or personal data), secret. */
export const dataSources = z
  .enum(['public', 'private', 'secret'])
  .describe(
    'what the tool returns: private (customer or personal data) or secret (credentials); flow rules hold runs that read it',
  );
export type DataSources = z.infer<typeof dataSources>;

/**
 * A regular expression from the policy. It must compile under RE2 semantics,
 * which match in linear time, so no pattern can stall the gateway on a crafted
 * argument; a pattern RE2 cannot run (lookaround, backreferences) is refused
 * here, at load, with its position in the policy file.
 */
export const linearPattern = z.string().superRefine((pattern, ctx) => {
  const compiled = compileLinear(pattern);
  if (!compiled.ok)
    ctx.addIssue({ code: 'custom', message: `a linear-time (RE2) pattern: ${compiled.reason}` });
});

/**
 * JSON-Schema keywords a policy may add to one argument, or to a property or
 * the items of one nested below it. All of them only narrow; a string keyword
 * (pattern, lengths) makes the value a string and a number keyword a number.
 */
export const argumentTightening = z
  .object({
    pattern: linearPattern.optional(),
    enum: z
      .array(z.union([z.string(), z.number(), z.boolean()]))
      .min(1)
      .optional(),
    const: z.union([z.string(), z.number(), z.boolean()]).optional(),
    minLength: z.number().int().nonnegative().optional(),
    maxLength: z.number().int().nonnegative().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    minItems: z.number().int().nonnegative().optional(),
    maxItems: z.number().int().nonnegative().optional(),
    required: z.boolean().optional().describe('true makes an optional argument required'),
    get properties() {
      return z
        .record(z.string(), argumentTightening)
        .optional()
        .describe('tightening of the properties of an object argument, by name');
    },
    get items() {
      return argumentTightening.optional().describe('tightening of every item of an array argument');
    },
    additional_properties: z
      .boolean()
      .optional()
      .describe(
        'nested objects are closed (unknown keys refused); true keeps open a map the upstream declares open',
      ),
  })
  .strict();
export type ArgumentTightening = z.infer<typeof argumentTightening>;

/** One comparison on an argument; conditions are data evaluated by the gate, never code. */
export const argumentCondition = z
  .object({
    arg: z.string().min(1).describe('argument name, or a JSON pointer such as /items/0/amount'),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
    eq: z.union([z.string(), z.number(), z.boolean()]).optional(),
    ne: z.union([z.string(), z.number(), z.boolean()]).optional(),
    in: z.array(z.union([z.string(), z.number()])).optional(),
    matches: linearPattern.optional().describe('regular expression (RE2) the argument must match'),
  })
  .strict()
  .refine(
    (c) => ['gt', 'gte', 'lt', 'lte', 'eq', 'ne', 'in', 'matches'].some((k) => k in c),
    'one comparison: gt, gte, lt, lte, eq, ne, in or matches',
  );
export type ArgumentCondition = z.infer<typeof argumentCondition>;

export const approvalWhen = z.union([
  z.literal('always'),
  z.literal('tainted'),
  z.array(argumentCondition).min(1),
]);

export const approvalRule = z
  .union([
    z.literal('always').transform(() => ({})),
    z
      .object({
        when: approvalWhen
          .optional()
          .describe('always (default), tainted, or a list of argument conditions (any)'),
        approvers: z.array(z.string()).min(1).optional().describe('operator roles that may decide'),
        quorum: z.number().int().min(1).max(10).optional().describe('distinct approvers needed'),
        timeout: duration.optional().describe('no decision by then means deny'),
        allow_edit: z.boolean().optional().describe('approvers may approve with edited arguments'),
      })
      .strict(),
  ])
  .transform((rule) => ({
    when: 'when' in rule && rule.when !== undefined ? rule.when : ('always' as const),
    approvers: ('approvers' in rule && rule.approvers) || ['approver', 'admin'],
    quorum: ('quorum' in rule && rule.quorum) || 1,
    timeout: ('timeout' in rule && rule.timeout) || 15 * 60_000,
    allow_edit: ('allow_edit' in rule && rule.allow_edit) || false,
  }));
export type ApprovalRule = z.infer<typeof approvalRule>;

export const EXPOSED_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Per-tool raises of the schema cost limits (gateway/schema-cost.ts); nesting stays at 64 levels,
 * which tightening itself walks. The ceilings stay below what
 * broke the compiler here (5,000 properties or a chain of 300 references overflowed the stack;
 * 2,000 properties took 2.4 s, past the upstream's compile budget anyway).
 */
const schemaLimits = z
  .object({
    nodes: z.number().int().min(1).max(5_000).optional(),
    references: z.number().int().min(0).max(256).optional(),
    properties: z.number().int().min(1).max(1_000).optional(),
    enum_values: z.number().int().min(0).max(100_000).optional(),
  })
  .strict();

export const toolRule = z
  .object({
    expose: z.boolean().default(true).describe('false documents a tool that stays hidden'),
    class: toolClass,
    rename: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,40}$/, 'letters, digits, _ or -, at most 40')
      .optional()
      .describe('tool part of the exposed name; the upstream namespace is always kept'),
    description: z.string().max(2000).optional().describe('replaces the upstream description'),
    arguments: z.record(z.string(), argumentTightening).default({}),
    additional_properties: z
      .literal(false)
      .default(false)
      .describe('always false: unknown arguments are refused; widening is not possible'),
    approval: approvalRule.optional(),
    rate: rate.optional().describe('token bucket per run, e.g. 5/hour'),
    taints: z
      .boolean()
      .optional()
      .describe(
        "it reads the open world (web, tickets, inbound mail): its output marks the run as untrusted; unset, the server's openWorldHint with readOnlyHint decides",
      ),
    sources: dataSources
      .optional()
      .describe("what the tool returns; overrides the upstream's sources (public, private, secret)"),
    max_output: size.optional().describe('larger results are truncated with a visible marker'),
    timeout: duration.optional().describe('overrides the upstream call timeout'),
    schema_limits: schemaLimits
      .optional()
      .describe(
        "raises what this tool's upstream schema may cost before it is compiled (defaults in DESIGN.md), for a large schema you reviewed; the upstream's compile budget still holds",
      ),
  })
  .strict();
export type ToolRule = z.infer<typeof toolRule>;

/** The name an agent sees: always namespaced by upstream, so two upstreams never collide. */
export function exposedName(upstream: string, tool: string, rule: Pick<ToolRule, 'rename'>): string {
  return `${upstream}__${rule.rename ?? tool}`;
}
