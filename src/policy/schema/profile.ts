/**
 * Profiles: what one kind of agent may do. Anything a profile does not list
 * does not exist for it: an empty tool list means no tools, an empty egress
 * list means no network.
 */
import { z } from 'zod';
import { PROFILE_LLM_DEFAULT, profileLlm } from './llm.js';
import { passthroughFields } from './passthrough.js';
import { duration, rate, size } from './units.js';

/** `host:port` or `*.domain:port`; a wildcard never matches the apex and needs two labels. */
export const EGRESS_ENTRY =
  /^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*:(\d{1,5})$/;

export const egressEntry = z
  .string()
  .regex(EGRESS_ENTRY, 'host:port, e.g. api.example.com:443 or *.example.com:443')
  .refine(
    (entry) => !/^\*\.[^.]+:/.test(entry),
    'a wildcard needs a registrable domain: *.com would allow the whole TLD',
  );

export const budgets = z
  .object({
    tool_calls: z.number().int().positive().optional().describe('tool calls per run'),
    wall_clock: duration.optional().describe('the run is killed when this has passed'),
    tokens: z
      .object({
        input: z.number().int().positive().optional(),
        output: z.number().int().positive().optional(),
        total: z.number().int().positive().optional(),
        cache_read_weight: z
          .number()
          .min(0)
          .max(1)
          .default(0.1)
          .describe('how much a cached input token counts'),
        cache_write_weight: z.number().min(0).default(1.25),
      })
      .strict()
      .optional(),
    usd: z.number().positive().optional().describe('spend per run, priced from llm.prices'),
    per_tool: z
      .record(
        z.string(),
        z.object({ calls: z.number().int().positive().optional(), rate: rate.optional() }).strict(),
      )
      .default({}),
    alert_at: z
      .array(z.number().gt(0).max(1))
      .default([0.8, 1])
      .describe('fractions of a budget that raise an alert'),
  })
  .strict();
export type Budgets = z.infer<typeof budgets>;

export const loopGuard = z
  .object({
    identical_calls: z.number().int().min(2).default(5).describe('same tool and arguments within window'),
    window: duration.default(60_000),
    consecutive_errors: z.number().int().min(2).default(5),
    action: z.enum(['refuse', 'kill']).default('refuse'),
  })
  .strict();

export const sandboxLimits = z
  .object({
    enabled: z.boolean().default(true),
    memory: size.default(512 * 1024 ** 2),
    pids: z.number().int().min(8).default(256),
    cpu: z.number().positive().max(64).default(1).describe('CPU cores'),
    tmp_size: size.default(64 * 1024 ** 2),
    workdir_size: size
      .optional()
      .describe(
        "size of the jail's copy of the workdir (a tmpfs, counted in memory); default: the memory limit",
      ),
    weaker_limits: z
      .boolean()
      .default(false)
      .describe(
        'accept per-process rlimits where no cgroup can be made (no CPU limit, memory per process); otherwise the jail refuses to start',
      ),
    mounts: z
      .array(z.string().regex(/^\//, 'an absolute host path'))
      .default([])
      .describe(
        'host folders mounted read-only at the same path inside the jail, e.g. an agent installed outside /usr',
      ),
    carry_over: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'workdir paths (files, or folders and what is in them) whose changes are carried over although they steer tools, e.g. .vscode/settings.json',
      ),
    env: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/))
      .default([])
      .describe('host variables passed in'),
  })
  .strict();
export type SandboxLimits = z.infer<typeof sandboxLimits>;

export const PII_KINDS = ['email', 'phone', 'card', 'iban', 'national_id'] as const;
export const piiAction = z.enum(['redact', 'mask', 'allow']);

const flowAction = z.enum(['approve', 'refuse', 'allow']);
export type FlowAction = z.infer<typeof flowAction>;

/**
 * What an external sink (an `external` tool, or one that reaches the open web)
 * does once the run has read untrusted content, private data or secrets.
 * Where several apply, the strictest wins (refuse, then approve, then allow).
 */
export const flowRules = z
  .object({
    tainted_external: flowAction
      .default('approve')
      .describe('what an external tool call does once the run has read untrusted content'),
    private_external: flowAction
      .default('approve')
      .describe('what an external tool call does once the run has read private data (sources: private)'),
    secret_external: flowAction
      .default('refuse')
      .describe('what an external tool call does once the run has read secrets (sources: secret)'),
  })
  .strict();
export const DEFAULT_FLOW_RULES = {
  tainted_external: 'approve',
  private_external: 'approve',
  secret_external: 'refuse',
} as const;

export const profile = z
  .object({
    description: z.string().optional(),
    tools: z
      .array(z.string())
      .default([])
      .describe('exposed tool names; nothing else exists for this profile'),
    budgets: budgets.default({ per_tool: {}, alert_at: [0.8, 1] }),
    loop_guard: loopGuard.default({
      identical_calls: 5,
      window: 60_000,
      consecutive_errors: 5,
      action: 'refuse',
    }),
    egress: z.array(egressEntry).default([]),
    sandbox: sandboxLimits.default({
      enabled: true,
      memory: 512 * 1024 ** 2,
      pids: 256,
      cpu: 1,
      tmp_size: 64 * 1024 ** 2,
      weaker_limits: false,
      mounts: [],
      carry_over: [],
      env: [],
    }),
    llm: profileLlm.default(PROFILE_LLM_DEFAULT),
    pii: z.partialRecord(z.enum(PII_KINDS), piiAction).default({}),
    flow: flowRules.default(DEFAULT_FLOW_RULES),
    spotlight: z
      .boolean()
      .default(false)
      .describe('wrap tool text in delimited data markers, so the model can tell data from instructions'),
    ...passthroughFields,
    run_ttl: duration.default(3_600_000).describe('how long a run token lives when wall_clock is not set'),
  })
  .strict();
export type Profile = z.infer<typeof profile>;
