/**
 * The gateway's own secrets on their way out. The agent holds one credential,
 * its run token, a bearer token: whoever has it acts as the run (its tools,
 * its LLM budget) from wherever the gateway can be reached. The other secrets
 * the gateway knows (each upstream's credential, operator tokens, OAuth
 * grants) the agent should never hold. None of them has a reason to be in what
 * an agent sends an upstream: a steered agent handing its token to a tool (an
 * argument, a prompt argument, a resource URI) gives the run away to that
 * upstream and to whatever it forwards to.
 *
 * What the agent sends is read by a scrubber that knows each of those secrets
 * (gateway/scrubbers.ts) in every encoding the scrubber recognises (raw,
 * base64, URL, hex, JSON escapes, ...) and bulkhead's token format for tokens
 * another replica minted, and no other rule: a string that it marks, alone or
 * joined with the strings around it (a token cut in two arguments), is refused. A secret the agent
 * transformed in a way the scrubber does not read (reversed, enciphered) is
 * not found here: the token is only as safe as the gateway is unreachable to
 * whoever receives it.
 */
import { MAX_DEPTH } from '../inspect/deep.js';
import { asciiReading } from '../inspect/look-alikes.js';

/** What the scrubber writes for a known secret and for a bulkhead token (scrub/rules/bulkhead.ts). */
const MARKERS = ['[REDACTED:secret]', '[REDACTED:bulkhead-token]'] as const;

/**
 * Whether `value` carries a secret of the gateway: in one of its strings or keys, or in its
 * string values read joined in order (a token cut across two arguments).
 */
export function carriesGatewaySecret(value: unknown, scrub: (text: string) => string): boolean {
  const values: string[] = [];
  const keys: string[] = [];
  collect(value, values, keys, 0);
  if (values.some((text) => marks(text, scrub)) || keys.some((key) => marks(key, scrub))) return true;
  return values.length > 1 && marks(values.join(''), scrub);
}

function marks(text: string, scrub: (text: string) => string): boolean {
  // Look-alike letters (a Cyrillic `а`, a mathematical `𝚋`) read as the ASCII ones, as an upstream
  // could read them back (any NFKC normalisation does).
  const folded = asciiReading(text)?.text;
  return marked(text, scrub) || (folded !== undefined && marked(folded, scrub));
}

function marked(text: string, scrub: (text: string) => string): boolean {
  const scrubbed = scrub(text);
  return scrubbed !== text && MARKERS.some((marker) => count(scrubbed, marker) > count(text, marker));
}

function count(text: string, marker: string): number {
  let n = 0;
  for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + marker.length)) n++;
  return n;
}

function collect(value: unknown, values: string[], keys: string[], depth: number): void {
  if (typeof value === 'string') {
    values.push(value);
    return;
  }
  // Deeper than any argument passes validation: read as text, so nothing goes unread.
  if (depth > MAX_DEPTH) {
    values.push(JSON.stringify(value) ?? '');
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) collect(item, values, keys, depth + 1);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    keys.push(key);
    collect(item, values, keys, depth + 1);
  }
}

/** What a refused call's strings are recorded as: the audit trail keeps its shape, not its secret. */
export const WITHHELD = '[bulkhead: withheld: the arguments carried a secret of the gateway]';

/**
 * `value` with every string replaced by WITHHELD, for the audit record of a refused call: each
 * string is scrubbed alone when it is written, so a token cut in two arguments would be kept there
 * in two halves.
 */
export function withheldStrings(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return WITHHELD;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => withheldStrings(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value))
    Object.defineProperty(out, key, {
      value: withheldStrings(item, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}
