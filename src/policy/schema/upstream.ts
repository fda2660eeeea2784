/** Upstreams: the MCP servers bulkhead connects to, each with its own credential. */
import { z } from 'zod';
import { dataSources } from './tool.js';
import { duration, size, textOrSecret } from './units.js';

export const UPSTREAM_NAME = /^[a-z][a-z0-9-]{0,30}$/;

const common = {
  description: z.string().optional(),
  call_timeout: duration.default(30_000).describe('per-call timeout towards this upstream'),
  required: z
    .boolean()
    .optional()
    .describe(
      'true: the gateway does not start without it. Absent: it may start without it (degraded, retried in the background) but answers /readyz 503 while it is down. false: readiness ignores it too',
    ),
  max_message: size
    .optional()
    .describe(
      'largest message read from this upstream (default 32M); a larger answer fails that call (result_too_large) and the connection stays up',
    ),
  sources: dataSources.optional().describe('what every tool of this upstream returns, unless the tool says'),
  start_timeout: duration.optional().describe('how long connecting and listing tools may take (15s)'),
};

export const stdioUpstream = z
  .object({
    command: z.string().min(1).describe('program to spawn'),
    args: z.array(z.string()).default([]),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), textOrSecret)
      .default({})
      .describe('the only environment the server gets, besides PATH, HOME and LANG'),
    cwd: z.string().optional(),
    ...common,
  })
  .strict();

export const httpUpstream = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'an http or https URL' }).describe('Streamable HTTP endpoint'),
    headers: z.record(z.string(), textOrSecret).default({}),
    ...common,
  })
  .strict();

export const upstream = z.union([stdioUpstream, httpUpstream]);
export type UpstreamConfig = z.infer<typeof upstream>;
export type StdioUpstreamConfig = z.infer<typeof stdioUpstream>;
export type HttpUpstreamConfig = z.infer<typeof httpUpstream>;

export function isStdio(config: UpstreamConfig): config is StdioUpstreamConfig {
  return 'command' in config;
}
