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

const OPEN = '<<tool_output_data ';

/**
 * A text `spotlightText` wrapped, taken apart: its markers and the upstream's text between them.
 * String operations, not a pattern: the text may be megabytes.
 */
export function unwrapSpotlight(text: string): { open: string; body: string; close: string } | undefined {
  if (!text.startsWith(OPEN)) return undefined;
  const end = text.indexOf('>>\n', OPEN.length);
  if (end === -1) return undefined;
  const nonce = text.slice(OPEN.length, end);
  if (!/^[0-9A-Za-z]{1,64}$/.test(nonce)) return undefined;
  const open = `${OPEN}${nonce}>>\n`;
  const close = `\n<<end_tool_output_data ${nonce}>>`;
  if (text.length < open.length + close.length || !text.endsWith(close)) return undefined;
  return { open, body: text.slice(open.length, text.length - close.length), close };
}
