/**
 * Spotlighting: tool text is wrapped in markers that say "this is data", so a
 * model (told so in its system prompt) can keep instructions inside it apart
 * from the operator's. The markers carry a per-result nonce: output that
 * prints its own "end of data" marker cannot guess it, so it cannot appear to
 * break out of the block.
 */
import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

type Block = CallToolResult['content'][number];

export function spotlightText(content: Block[], nonce = randomBytes(8).toString('hex')): Block[] {
  return content.map((block) =>
    block.type === 'text'
      ? {
          ...block,
          text: `<<tool_output_data ${nonce}>>\n${block.text}\n<<end_tool_output_data ${nonce}>>`,
        }
      : block,
  );
}

const WRAPPED = /^(<<tool_output_data ([0-9A-Za-z]+)>>\n)([\s\S]*)(\n<<end_tool_output_data \2>>)$/;

/** A text `spotlightText` wrapped, taken apart: its markers and the upstream's text between them. */
export function unwrapSpotlight(text: string): { open: string; body: string; close: string } | undefined {
  const match = WRAPPED.exec(text);
  if (!match) return undefined;
  return { open: match[1] ?? '', body: match[3] ?? '', close: match[4] ?? '' };
}
