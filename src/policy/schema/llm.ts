/**
 * What a profile may do through the LLM proxy besides sending messages. The
 * Messages API can act on the agent's behalf outside bulkhead's tool policy
 * and egress list: server tools (web fetch and search, code execution, and
 * whatever comes next), the MCP connector (`mcp_servers`, which calls any
 * URL), documents and images the API fetches by URL, and the betas that
 * switch these on. All are refused unless listed here.
 */
import { z } from 'zod';

export const profileLlm = z
  .object({
    models: z.array(z.string()).optional().describe('models this profile may call; all when absent'),
    server_tools: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'server tools the API may run for this profile, by type (web_search_20250305) or by name without the date (web_search); none by default',
      ),
    mcp_servers: z
      .array(z.url({ protocol: /^https?$/, error: 'an http or https URL' }))
      .default([])
      .describe('MCP connector server URLs the API may call for this profile; none by default'),
    betas: z
      .array(z.string().min(1))
      .default([])
      .describe('anthropic-beta flags this profile may send; none by default'),
    url_sources: z
      .boolean()
      .default(false)
      .describe('let the API fetch images and documents by URL for this profile'),
    body_fields: z
      .array(z.string().min(1))
      .default([])
      .describe('top-level request fields allowed beyond the known, harmless ones'),
  })
  .strict();
export type ProfileLlm = z.infer<typeof profileLlm>;

export const PROFILE_LLM_DEFAULT: ProfileLlm = {
  server_tools: [],
  mcp_servers: [],
  betas: [],
  url_sources: false,
  body_fields: [],
};

/** Whether a profile opens any of the side doors above. */
export function sideDoorsOpen(llm: ProfileLlm): string[] {
  const open: string[] = [];
  if (llm.server_tools.length) open.push(`server tools (${llm.server_tools.join(', ')})`);
  if (llm.mcp_servers.length) open.push(`MCP connector URLs (${llm.mcp_servers.join(', ')})`);
  if (llm.betas.length) open.push(`betas (${llm.betas.join(', ')})`);
  if (llm.url_sources) open.push('fetching images and documents by URL');
  return open;
}
