/**
 * Tool poisoning: instructions hidden in a tool definition. A description is
 * read by the model, not by the user, so a malicious server can use it to
 * steer the agent: address the model directly, ask it to read files or
 * secrets and pass them along as an argument, tell it to keep quiet, change
 * how it uses OTHER tools (shadowing), or hide all of that in characters a
 * person reviewing the definition cannot see.
 *
 * Every text a model sees is scanned: title, description, and every string
 * under the input schema's `description`/`title` keys at any depth (property
 * descriptions are a common hiding place), plus enum values and defaults.
 * The heuristics that inspect tool output are reused; the ones here are
 * specific to definitions.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { stripHidden } from '../inspect/hidden.js';
import { findInjection } from '../inspect/injection.js';

export type PoisonKind =
  | 'hidden_characters'
  | 'instruction'
  | 'conceals_from_user'
  | 'asks_for_secrets'
  | 'shadows_other_tools'
  | 'abnormal_length';

export interface PoisonFinding {
  /** Where in the definition, e.g. `description` or `inputSchema/properties/note/description`. */
  where: string;
  kind: PoisonKind;
  detail: string;
}

/** Longest honest description we have seen is well under this; long ones hide payloads below the fold. */
export const MAX_DESCRIPTION = 2000;
export const MAX_SCHEMA_TEXT = 500;

const CHECKS: { kind: PoisonKind; pattern: RegExp }[] = [
  {
    // Speaking to the model as its operator: <IMPORTANT> blocks, "the assistant must", "before using this tool".
    kind: 'instruction',
    pattern:
      /<\s{0,3}\/?\s{0,3}(important|system|instructions?|secret|hidden|note)\b[^<>\n]{0,40}>|\b(the |an? )?(assistant|ai|model|llm|agent)\s{1,3}(must|should|needs to|has to|is required to|will)\b|\bbefore (using|calling|invoking) (this|any|the) tool\b|\byou (must|should|need to|are required to) (first |always |also )?(read|call|include|pass|send|ignore|prefix|append|run|execute|forward|add|copy|upload|attach)\b|\b(every|each|all) (shell |terminal )?commands? you (run|execute)\b|\b(otherwise|or else) (this|the) tool (will not|won'?t|cannot) work\b/i,
  },
  {
    // Keeping the user out of the loop is the signature of a hostile instruction.
    kind: 'conceals_from_user',
    pattern:
      /\b(do not|don'?t|never|must not) (tell|mention|inform|reveal|notify|show|alert|disclose)\b[^.]{0,40}\b(user|human|operator)\b|\bwithout (telling|informing|notifying|alerting) the (user|human)\b|\b(user|human) (must|should) not (know|see|be told)\b|\bsilently (call|send|include|read|forward|add|attach|upload|copy)\b|\bmention (this|that) to (anyone|the user)\b/i,
  },
  {
    // Sensitive files and credentials a tool has no reason to ask for.
    kind: 'asks_for_secrets',
    pattern:
      /~\/\.ssh|\bid_(rsa|ed25519|ecdsa)\b|\.aws\/credentials|\.env\b|\.npmrc|\.netrc|\.git-credentials|authorized_keys|mcp\.json|claude_desktop_config|\.cursor\/|\/etc\/(passwd|shadow)|\b(private key|api[_ -]?keys?|access tokens?|passwords?|credentials|session cookies?|seed phrase)\b/i,
  },
  {
    // Changing how other tools behave: the attacker's server rewrites calls it never receives.
    kind: 'shadows_other_tools',
    pattern:
      /\bwhen(ever)? (the |you (use|call) the |using the |calling the )?[`'"]?[a-z][\w-]{2,40}[`'"]? (tool )?(is (called|used|invoked)|tool)\b|\b(all|any|every) (other )?(emails?|messages?|calls?|requests?|transfers?|payments?) (must|should) (be )?(sent|go|cc|bcc|routed|redirected|forwarded)\b|\b(bcc|cc|forward|redirect)\b[^.]{0,30}@|\binstead of (the |using )?[`'"]?[a-z][\w-]+[`'"]? tool\b|\b(this|the following) (rule|instruction) (applies|overrides)\b/i,
  },
];

/** An innocent mention ("returns the password policy") needs an action verb near it to count. */
const ACTS_ON = /\b(read|cat|send|pass|include|attach|upload|copy|provide|append|forward|post|put)\b/i;

function texts(tool: Tool): [string, string][] {
  const out: [string, string][] = [];
  if (tool.title) out.push(['title', tool.title]);
  if (tool.description) out.push(['description', tool.description]);
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      value.forEach((child, i) => {
        if (typeof child === 'string' && /\/enum$/.test(path)) out.push([`${path}/${i}`, child]);
        else walk(child, `${path}/${i}`);
      });
      return;
    }
    if (!value || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (typeof child === 'string' && ['description', 'title', 'default', 'examples'].includes(key))
        out.push([`${path}/${key}`, child]);
      // Property names are read by the model too.
      else if (key === 'properties' && child && typeof child === 'object') {
        // Read as words: an instruction spelled as a_long_parameter_name is still read by the model.
        for (const name of Object.keys(child))
          if (name.length > 40) out.push([`${path}/properties`, name.replace(/[_-]+/g, ' ')]);
        walk(child, `${path}/${key}`);
      } else walk(child, `${path}/${key}`);
    }
  };
  walk(tool.inputSchema, 'inputSchema');
  if (tool.outputSchema) walk(tool.outputSchema, 'outputSchema');
  return out;
}

export function findPoisoning(tool: Tool): PoisonFinding[] {
  const findings: PoisonFinding[] = [];
  const add = (where: string, kind: PoisonKind, detail: string) => {
    if (!findings.some((f) => f.where === where && f.kind === kind)) findings.push({ where, kind, detail });
  };
  for (const [where, raw] of texts(tool)) {
    const cleaned = stripHidden(raw);
    if (cleaned.hidden > 0 || cleaned.escapes > 0 || cleaned.smuggled) {
      add(
        where,
        'hidden_characters',
        `${cleaned.hidden + cleaned.escapes} invisible character(s)${cleaned.smuggled ? ', spelling out hidden text in Unicode tag characters' : ''}`,
      );
    }
    // Scan what the model would read: the visible text and anything smuggled.
    const text = `${cleaned.text}\n${cleaned.smuggled ?? ''}`;
    for (const { kind, pattern } of CHECKS) {
      const match = pattern.exec(text);
      if (!match) continue;
      if (kind === 'asks_for_secrets' && !ACTS_ON.test(text)) continue;
      add(where, kind, `"${match[0].trim().slice(0, 80)}"`);
    }
    for (const hit of findInjection(text)) add(where, 'instruction', `output heuristic ${hit.heuristic}`);
    const limit = where === 'description' ? MAX_DESCRIPTION : MAX_SCHEMA_TEXT;
    if (raw.length > limit) add(where, 'abnormal_length', `${raw.length} characters (over ${limit})`);
  }
  return findings;
}
