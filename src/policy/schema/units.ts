/**
 * Small value grammars shared by the policy sections: durations, sizes, rates
 * and secret references. Each parses to a plain number or object at load time,
 * so no later stage re-parses text.
 */
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `250ms`, `30s`, `10m`, `2h`; parsed to milliseconds. */
export const duration = z
  .string()
  .regex(DURATION, 'a duration such as 30s, 10m or 2h')
  .transform((text) => {
    const [, amount, unit] = DURATION.exec(text) as RegExpExecArray;
    return Math.round(Number(amount) * (DURATION_MS[unit as string] as number));
  })
  .describe('duration: a number with ms, s, m, h or d');

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB)?$/;
const SIZE_BYTES: Record<string, number> = {
  B: 1,
  K: 1024,
  KB: 1024,
  KiB: 1024,
  M: 1024 ** 2,
  MB: 1024 ** 2,
  MiB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1024 ** 3,
  GiB: 1024 ** 3,
};

/** A size such as `512M`, `64KiB` or a plain number of bytes; parsed to bytes. */
export const size = z
  .union([z.number().int().positive(), z.string().regex(SIZE, 'a size such as 64K, 512M or 2G')])
  .transform((value, ctx) => {
    if (typeof value === 'number') return value;
    const [, amount, unit] = SIZE.exec(value) as RegExpExecArray;
    const bytes = Math.round(Number(amount) * (SIZE_BYTES[unit ?? 'B'] as number));
    // Zero is no bound where it lands: a tmpfs of `size=0` is unlimited (the jail's /tmp then
    // takes the host's memory under `weaker_limits`), so "0M" or "0.4" is refused, as 0 is.
    if (bytes < 1) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: 'a size of at least one byte (0 would mean no limit)',
      });
      return z.NEVER;
    }
    return bytes;
  })
  .describe('size in bytes, or a number with K, M or G');

const RATE = /^(\d+)\s*\/\s*(second|minute|hour|day|\d+(?:ms|s|m|h|d))$/;
const RATE_WINDOW: Record<string, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

export type Rate = { count: number; perMs: number };

/** A rate such as `5/hour` or `10/30s`: at most `count` calls per window (token bucket). */
export const rate = z
  .string()
  .regex(RATE, 'a rate such as 5/hour, 60/minute or 10/30s')
  .transform((text): Rate => {
    const [, count, window] = RATE.exec(text) as RegExpExecArray;
    const w = window as string;
    const perMs = RATE_WINDOW[w] ?? duration.parse(w);
    return { count: Number(count), perMs };
  });

/**
 * Where a secret comes from. Secrets are never literals in the policy: the file
 * names an environment variable of the gateway or a file only it can read.
 */
export const secretRef = z.union([
  z
    .object({
      secret: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
      prefix: z.string().optional().describe('text put before the value, e.g. "Bearer "'),
    })
    .strict(),
  z
    .object({
      file: z.string().min(1),
      prefix: z.string().optional(),
    })
    .strict(),
]);
export type SecretRef = z.infer<typeof secretRef>;

/** A value that may be plain configuration text or a secret reference. */
export const textOrSecret = z.union([z.string(), secretRef]);
export type TextOrSecret = z.infer<typeof textOrSecret>;
