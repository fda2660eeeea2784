/**
 * Tool poisoning: instructions hidden in a tool's description or schema,
 * addressed to the model (not the user), asking for files or secrets, or
 * smuggled in invisible characters. Uses the same heuristics that inspect
 * tool output, plus checks specific to definitions.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { stripHidden } from '../inspect/hidden.js';
import { findInjection } from '../inspect/injection.js';

export interface PoisonFinding {
  where: string;
  kind: 'hidden_characters' | 'instruction' | 'asks_for_secrets' | 'abnormal_length';
  detail: string;
}

const ASKS_FOR_SECRETS =
  /(~\/\.ssh|id_rsa|\.env\b|\.aws|credentials|private key|api[_ -]?key|password|mcp\.json|\.cursor|authorized_keys)/i;
const TO_THE_MODEL =
  /(<\s*important\s*>|do not (tell|mention|inform)|don'?t (tell|mention)|without (telling|informing) the user|before (using|calling) (this|any) tool|instead of|ignore (all|any|previous)|you must|the assistant (must|should)|when .{0,40} (is|are) (called|used), (also|first))/i;
export const MAX_DESCRIPTION = 1500;

function texts(tool: Tool): [string, string][] {
  const out: [string, string][] = [
    ['description', tool.description ?? ''],
    ['title', tool.title ?? ''],
  ];
  const walk = (value: unknown, path: string) => {
    if (!value || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if ((key === 'description' || key === 'title') && typeof child === 'string')
        out.push([`${path}/${key}`, child]);
      else walk(child, `${path}/${key}`);
    }
  };
  walk(tool.inputSchema, 'inputSchema');
  return out;
}

export function findPoisoning(tool: Tool): PoisonFinding[] {
  const findings: PoisonFinding[] = [];
  for (const [where, raw] of texts(tool)) {
    if (!raw) continue;
    const cleaned = stripHidden(raw);
    if (cleaned.hidden > 0 || cleaned.escapes > 0 || cleaned.smuggled) {
      findings.push({
        where,
        kind: 'hidden_characters',
        detail: `${cleaned.hidden + cleaned.escapes} hidden character(s)${cleaned.smuggled ? ', with text hidden in tag characters' : ''}`,
      });
    }
    const text = `${cleaned.text}\n${cleaned.smuggled ?? ''}`;
    const instruction = TO_THE_MODEL.exec(text);
    if (instruction)
      findings.push({ where, kind: 'instruction', detail: `addressed to the model: "${instruction[0]}"` });
    for (const hit of findInjection(text))
      findings.push({ where, kind: 'instruction', detail: hit.heuristic });
    const secret = ASKS_FOR_SECRETS.exec(text);
    if (secret && (instruction || /\b(read|send|pass|include|attach|cat|upload)\b/i.test(text))) {
      findings.push({ where, kind: 'asks_for_secrets', detail: `mentions "${secret[0]}"` });
    }
    if (where === 'description' && raw.length > MAX_DESCRIPTION) {
      findings.push({
        where,
        kind: 'abnormal_length',
        detail: `${raw.length} characters (over ${MAX_DESCRIPTION})`,
      });
    }
  }
  return findings;
}
