/**
 * Heuristics for prompt injection in tool output. They cannot prove intent and
 * are not a boundary: a hit flags the result and taints the run, so flow rules
 * (not the model's judgement) decide what the run may do next. Each heuristic
 * names the attack it looks for. Patterns are bounded so that scanning a large
 * hostile output stays linear.
 */

import { leadPass, withFlag } from './injection-leads.js';
import { asciiReading, foldLookAlikes } from './look-alikes.js';

export interface InjectionHit {
  heuristic: string;
  /** Offset of the hit in the scanned text. */
  at: number;
}

/**
 * A heuristic: a regex, or a search giving the index of its first match (-1: none). A regex whose
 * every match opens with one of `leads` (in lower case, at a word boundary, a non-word character
 * after it) is found by the joint lead pass (injection-leads.ts), except for its alternatives in
 * `rest`, which open otherwise and are searched on their own.
 */
type Heuristic =
  | { id: string; pattern: RegExp; leads?: readonly string[]; rest?: Opened; opens?: string }
  | { id: string; find: (text: string) => number };

/**
 * A pattern every match of which opens with one of the characters `opens` (punctuation, the same
 * in any case): it is searched from the first of them in the text, found by a native `indexOf`
 * (about 0.02 ms per MiB), not from the start: a regex tries every position before it (0.4–0.5
 * ms per MiB), and a tool's text often holds none of them.
 */
interface Opened {
  pattern: RegExp;
  opens: string;
}

/** Where `opened.pattern` first matches `text`, -1 where it does not (see Opened). */
function firstOpened({ pattern, opens }: Opened, text: string): number {
  let from = -1;
  for (const char of opens) {
    const at = text.indexOf(char);
    if (at >= 0 && (from < 0 || at < from)) from = at;
  }
  if (from < 0) return -1;
  const search = searching(pattern);
  search.lastIndex = from;
  return search.exec(text)?.index ?? -1;
}

/** A global copy of each pattern, to search from a given index. */
const GLOBAL = new Map<RegExp, RegExp>();
function searching(pattern: RegExp): RegExp {
  let search = GLOBAL.get(pattern);
  if (!search) {
    search = pattern.global ? pattern : withFlag(pattern, 'g');
    GLOBAL.set(pattern, search);
  }
  return search;
}

const HEURISTICS: readonly Heuristic[] = [
  {
    // "Ignore previous instructions" and its paraphrases: overriding the operator's prompt.
    id: 'override_instructions',
    pattern:
      /\b(?:ignore|disregard|forget|override|bypass)\s{1,3}(?:all\s{1,3}|any\s{1,3})?(?:of\s{1,3})?(?:the\s{1,3}|your\s{1,3}|my\s{1,3})?(?:previous|prior|above|earlier|preceding|original|system|safety)?\s{0,3}(?:instructions|prompts?|rules|directions|guidelines|guardrails)\b/i,
    leads: ['ignore', 'disregard', 'forget', 'override', 'bypass'],
  },
  {
    // Text speaking to the model rather than describing data: role hijack.
    id: 'addressed_to_model',
    pattern:
      /\b(?:(?:dear|attention|note to(?: the)?|hey)\s{1,3}(?:ai|assistant|model|llm|agent|claude|chatgpt|gpt)\b|(?:ai|assistant|claude|agent)\s{0,2}[,:]\s{0,3}(?:you must|please|ignore|do not|always|never|now)\b|you are now\b|from now on,? you\b|new (?:system )?instructions\s{0,3}:|your new (?:task|goal|instructions))/i,
    leads: [
      'dear',
      'attention',
      'note',
      'hey',
      'ai',
      'assistant',
      'claude',
      'agent',
      'you',
      'from',
      'new',
      'your',
    ],
  },
  {
    // Chat-template and system-prompt markers smuggled into data. A bare "System:" line is ordinary
    // output (uname, dmesg); only one that goes on to address the model counts (`findRoleLine`).
    // As one regex (`…|^\s{0,8}(?:system|assistant)…` with the `m` flag) it was the dearest of
    // these passes on every text, with or without a line in it: a `^` alternative that can match
    // after any line break kept the regex engine from skipping ahead, 1.5-3 ms per MB.
    id: 'role_markers',
    find: (text) => {
      const marker = firstOpened(TEMPLATE_MARKERS, text);
      const line = findRoleLine(text, marker < 0 ? text.length : marker);
      return line >= 0 ? line : marker;
    },
  },
  {
    // <IMPORTANT> / <SYSTEM> blocks: the tool-poisoning shape seen in malicious MCP servers.
    id: 'instruction_block',
    pattern:
      /<\s{0,3}\/?\s{0,3}(?:important|system|instructions?|admin|system-reminder|critical)\b[^<>\n]{0,64}>/i,
    opens: '<',
  },
  {
    // Steering the agent to another tool: cross-tool escalation ("now call send_email with ...").
    id: 'addressed_to_tools',
    pattern:
      /\b(?:call|invoke|use|run|execute|trigger)\s{1,3}(?:the\s{1,3})?(?:tool|function)\s{1,3}[`'"]?[A-Za-z0-9_.-]{2,64}|\b(?:call|invoke|run)\s{1,3}[`'"]?[a-z0-9]{1,32}_[a-z0-9_]{1,48}[`'"]?\s{1,3}(?:with|using|passing)\b/i,
    leads: ['call', 'invoke', 'use', 'run', 'execute', 'trigger'],
  },
  {
    // Instructions to move data out: exfiltration through a later external call.
    id: 'exfiltration_request',
    pattern:
      /\b(?:send|forward|post|upload|email|exfiltrate|leak|copy)\s{1,3}(?:all\s{1,3}|the\s{1,3}|your\s{1,3}|any\s{1,3})?(?:secrets?|credentials?|keys?|tokens?|passwords?|env(?:ironment)?(?: variables)?|files?|data|conversation|history)\b[^\n]{0,80}?\b(?:to|at)\s{1,3}(?:https?:\/\/|[A-Za-z0-9._%+-]{1,64}@)/i,
    leads: ['send', 'forward', 'post', 'upload', 'email', 'exfiltrate', 'leak', 'copy'],
  },
  {
    // Upstream text in the gateway's own voice: a forged refusal ("Denied by bulkhead (code): ...")
    // or note ("[bulkhead: ...]"), which a model takes for the gateway's word (stop, retry
    // elsewhere, report success). The gateway adds its own notes after inspection, never before.
    id: 'gateway_voice',
    pattern: /\bdenied\s{1,3}by\s{1,3}bulkhead\s{0,3}\(|\[\s{0,3}bulkhead\s{0,3}:/i,
    leads: ['denied'],
    rest: { pattern: /\[\s{0,3}bulkhead\s{0,3}:/i, opens: '[' },
  },
  {
    // Concealment: asking the model to hide what it does from the user.
    id: 'concealment',
    pattern:
      /\b(?:do not|don't|never)\s{1,3}(?:tell|inform|mention|reveal|show|notify)\s{1,3}(?:this\s{1,3}to\s{1,3})?(?:the\s{1,3})?(?:user|human|operator)\b/i,
    leads: ['do', "don't", 'never'],
  },
];

/** The heuristics found by the lead pass, and each one's place in it. */
const LED = HEURISTICS.flatMap((h) =>
  'leads' in h && h.leads ? [{ pattern: h.pattern, leads: h.leads }] : [],
);
const LED_INDEX = new Map(
  HEURISTICS.flatMap((h) => ('leads' in h && h.leads ? [h] : [])).map((h, k) => [h.id, k] as const),
);
const LEADS = leadPass(LED);

/** Each heuristic's pattern, for tests to hold findInjection against the regexes alone. */
export const INJECTION_PATTERNS: ReadonlyMap<string, RegExp> = new Map(
  HEURISTICS.flatMap((h) => ('pattern' in h ? [[h.id, h.pattern] as const] : [])),
);

/** Chat-template markers (role_markers' first half). */
const TEMPLATE_MARKERS: Opened = {
  pattern: /<\|im_start\|>|<\|system\|>|<\|start_header_id\|>|\[INST\]|<<SYS>>/gi,
  opens: '<[',
};

/** A role line's words after its indent: found anywhere, then `findRoleLine` checks what precedes them. */
const ROLE_WORDS = /(?:system|assistant)\s{0,2}:\s{0,3}(?:you|ignore|from now|new instructions)\b/gi;
/** The most characters before a ROLE_WORDS match's colon: `assistant` and two spaces. */
const ROLE_REACH = 'assistant'.length + 2;
const SPACE = /\s/;
/** Where `^` matches with the `m` flag: after these (and at the start). */
const isLineBreak = (c: number) => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;

/**
 * The index of the first match of `/^\s{0,8}(?:system|assistant)\s{0,2}:\s{0,3}(?:you|ignore|from
 * now|new instructions)\b/im` that starts before `before` (-1: none), without that regex's cost: the
 * words are searched for without the anchor, and each hit is taken when up to 8 whitespace
 * characters before it reach the start of a line (the leftmost such start, as the regex gives).
 * injection.test.ts checks it against the regex.
 */
export function findRoleLine(text: string, before = text.length): number {
  // Every match holds a colon at most ROLE_REACH characters past its start: searched from there
  // (a native indexOf; the regex's own search tries every position before).
  const colon = text.indexOf(':');
  if (colon < 0) return -1;
  ROLE_WORDS.lastIndex = Math.max(0, colon - ROLE_REACH);
  for (let m = ROLE_WORDS.exec(text); m && m.index < before + 8; m = ROLE_WORDS.exec(text)) {
    const words = m.index;
    let start = -1;
    for (let indent = 0; indent <= 8 && indent <= words; indent++) {
      const at = words - indent;
      if (indent > 0 && !SPACE.test(text.charAt(at))) break;
      if (at === 0 || isLineBreak(text.charCodeAt(at - 1))) start = at;
    }
    if (start >= 0 && start < before) return start;
    // Another match can start inside this one only past its first character.
    ROLE_WORDS.lastIndex = words + 1;
  }
  return -1;
}

/** Long encoded blobs can carry instructions or payloads past text filters. */
export const BLOB_LENGTH = 256;

export function findInjection(text: string): InjectionHit[] {
  const hits: InjectionHit[] = [];
  // Cyrillic, Greek and fullwidth look-alikes read as the ASCII they show (offsets unchanged).
  const read = foldLookAlikes(text);
  // Mathematical (`𝐢𝐠𝐧𝐨𝐫𝐞`, astral), enclosed and other compatibility forms read as NFKC reads
  // them, offsets mapped back; only when that reads otherwise than the look-alikes alone.
  const compat = asciiReading(text);
  const more = compat && compat.text !== read ? compat : undefined;
  const led = LEADS.first(read);
  let ledMore: Int32Array | undefined;
  for (const heuristic of HEURISTICS) {
    let at = firstMatch(heuristic, read, led);
    if (at < 0 && more) {
      ledMore ??= LEADS.first(more.text);
      const found = firstMatch(heuristic, more.text, ledMore);
      if (found >= 0) at = more.origin[found] as number;
    }
    if (at >= 0) hits.push({ heuristic: heuristic.id, at });
  }
  return hits;
}

/** Where `heuristic` first matches `text` (-1: nowhere), given the lead pass's answer for `text`. */
function firstMatch(heuristic: Heuristic, text: string, led: Int32Array): number {
  if ('find' in heuristic) return heuristic.find(text);
  const k = LED_INDEX.get(heuristic.id);
  if (k === undefined)
    return heuristic.opens !== undefined
      ? firstOpened({ pattern: heuristic.pattern, opens: heuristic.opens }, text)
      : (heuristic.pattern.exec(text)?.index ?? -1);
  const byLead = led[k] as number;
  const rest = heuristic.rest ? firstOpened(heuristic.rest, text) : -1;
  return byLead < 0 ? rest : rest < 0 ? byLead : Math.min(byLead, rest);
}

/**
 * More characters than any heuristic's match spans (the longest, exfiltration_request, about 190):
 * a match that crosses a point lies within this many characters of it on either side.
 */
export const PHRASE_REACH = 256;

/**
 * What stands between two windows read as one text: no heuristic's match crosses it (`\s` does
 * not match NUL, `[^\n]` and `[^<>\n]` stop at the line breaks).
 */
const WINDOW_GAP = '\n\u0000\n';

/**
 * The heuristics' hits that may cross from one of `parts` (read joined) to the next: only the
 * text within PHRASE_REACH of each seam is read, so parts read alone already are not read whole
 * again; the windows are read as one text (one pass costs less than one a window). A hit's `at`
 * is its offset in that text.
 */
export function findInjectionAcross(parts: readonly string[]): InjectionHit[] {
  const windows: string[] = [];
  let window = '';
  // Whether `window` holds a seam (and so is read).
  let open = false;
  const flush = () => {
    if (open) windows.push(window);
    window = '';
    open = false;
  };
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (part.length > 2 * PHRASE_REACH) {
      // The seam before it reads its head; the one after it its tail, one character more for `\b`.
      window += part.slice(0, PHRASE_REACH);
      flush();
      if (!last) window = part.slice(-PHRASE_REACH - 1);
    } else window += part;
    if (!last) open = true;
  });
  flush();
  return windows.length > 0 ? findInjection(windows.join(WINDOW_GAP)) : [];
}

/** Character classes of ASCII for findEncodedBlob: base64 (`A-Za-z0-9+/`), and hex within it. */
const B64 = 1;
const HEX = 2;
const BLOB_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const hex = (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
  const b64 = hex || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47;
  BLOB_CLASS[c] = (b64 ? B64 : 0) | (hex ? HEX : 0);
}

/**
 * The first run of at least BLOB_LENGTH base64 or hex characters: named `hex_blob` when the hex
 * run through its BLOB_LENGTH-th character reaches BLOB_LENGTH too. Probing every
 * BLOB_LENGTH-th character, not reading each: a run that long must hold a probe, and a probe
 * that lands in a shorter run costs that run. Ordinary text (and 4 MB of `token=`) is short
 * runs, so this reads a few percent of it; reading every character took 10 ns each, and a regex
 * like /[A-Za-z0-9+/]{256}/ restarts at every position.
 */
export function findEncodedBlob(text: string): InjectionHit | null {
  const n = text.length;
  const classOf = (i: number): number => {
    const c = text.charCodeAt(i);
    return c < 128 ? (BLOB_CLASS[c] as number) : 0;
  };
  let done = 0;
  for (let probe = BLOB_LENGTH - 1; probe < n; probe += BLOB_LENGTH) {
    if ((classOf(probe) & B64) === 0) continue;
    let start = probe;
    while (start > done && (classOf(start - 1) & B64) !== 0) start--;
    // Read on only until the run is long enough: a megabyte of one run costs BLOB_LENGTH reads.
    let end = probe + 1;
    while (end < n && end - start < BLOB_LENGTH && (classOf(end) & B64) !== 0) end++;
    done = end;
    if (end - start >= BLOB_LENGTH) return blobAt(start, classOf);
    // A run starting after `end` that is long enough holds a probe from here on.
    probe = end - 1;
  }
  return null;
}

/** The hit for a base64 run at `start`: hex when the hex run through its BLOB_LENGTH-th character reaches BLOB_LENGTH. */
function blobAt(start: number, classOf: (i: number) => number): InjectionHit {
  const last = start + BLOB_LENGTH - 1;
  let hexRun = 0;
  while (hexRun < BLOB_LENGTH && (classOf(last - hexRun) & HEX) !== 0) hexRun++;
  // Keep reading while the run is also hex, so a hex dump is named as such.
  for (let j = last + 1; hexRun < BLOB_LENGTH && (classOf(j) & HEX) !== 0; j++) hexRun++;
  return { heuristic: hexRun >= BLOB_LENGTH ? 'hex_blob' : 'base64_blob', at: start };
}
