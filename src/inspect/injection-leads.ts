/**
 * One pass for the injection heuristics that open with a word (injection.ts): each match of such
 * a pattern starts at a word boundary with one of its `leads`, followed by a non-word character.
 * The text is searched once for every heuristic's leads together, and at each lead found, the
 * patterns of the heuristics that word opens run sticky there. The first position where one
 * matches is where its own search would first match: a regex reports the leftmost match, and
 * every position a match can start at is a lead. On 1 MiB of logs and prose the separate
 * searches took 3.2 ms, on a page of keys 8.9 ms; the joint one 1.2 and 2.6
 * (injection.test.ts checks the two agree).
 */

export interface LedPattern {
  /** The heuristic's whole pattern (not global, not sticky). */
  pattern: RegExp;
  /** The words, in lower case, every match starts with. */
  leads: readonly string[];
}

export interface LeadPass {
  /** The first match of each pattern in `text` (-1: none), in the order given. */
  first(text: string): Int32Array;
}

/** Leads any text may have read with sticky tries; and one more per LEAD_SPACING characters of it. */
const LEADS_READ = 256;
const LEAD_SPACING = 64;

const escapeWord = (word: string) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `pattern`'s source with its flags but `g` and `y`, and `flag`. */
export const withFlag = (pattern: RegExp, flag: 'g' | 'y') =>
  new RegExp(pattern.source, `${pattern.flags.replace(/[gy]/g, '')}${flag}`);

export function leadPass(patterns: readonly LedPattern[]): LeadPass {
  if (patterns.length > 31) throw new Error('a lead pass takes at most 31 patterns');
  const sticky = patterns.map(({ pattern }) => withFlag(pattern, 'y'));
  const searching = patterns.map(({ pattern }) => withFlag(pattern, 'g'));
  // Which patterns each word opens, as bits.
  const opens = new Map<string, number>();
  patterns.forEach(({ leads }, k) => {
    for (const word of leads) opens.set(word, (opens.get(word) ?? 0) | (1 << k));
  });
  const all = (1 << patterns.length) - 1;
  // Longer words first, so that `don't` is tried where `do` would stop short.
  const words = [...opens.keys()].sort((a, b) => b.length - a.length).map(escapeWord);
  const lead = new RegExp(`\\b(?:${words.join('|')})\\b`, 'gi');
  /** From `at` on, each pattern still wanted searches on its own (none matched before `at`). */
  const searchOn = (text: string, at: number, wanted: number, found: Int32Array) => {
    for (let k = 0; k < patterns.length; k++) {
      if ((wanted & (1 << k)) === 0) continue;
      const regex = searching[k]!;
      regex.lastIndex = at;
      found[k] = regex.exec(text)?.index ?? -1;
    }
  };
  return {
    first(text) {
      const found = new Int32Array(patterns.length).fill(-1);
      let wanted = all;
      // Text dense with lead words (`you you you …`, one every few characters) costs a sticky try
      // at each, 3-6x the searches apart: past this many leads, the patterns still wanted search on
      // their own from there, so such text costs what it did before the joint pass, and a little more.
      let left = LEADS_READ + Math.floor(text.length / LEAD_SPACING);
      lead.lastIndex = 0;
      for (let m = lead.exec(text); m && wanted !== 0; m = lead.exec(text)) {
        const at = m.index;
        if (--left < 0) {
          searchOn(text, at, wanted, found);
          break;
        }
        // `/i` lets only ASCII letters match ASCII ones here, so the word is one of the leads; if it
        // ever were not, every pattern still wanted is tried.
        let bits = (opens.get(m[0].toLowerCase()) ?? all) & wanted;
        for (let k = 0; bits !== 0; k++, bits >>>= 1) {
          if ((bits & 1) === 0) continue;
          const regex = sticky[k]!;
          regex.lastIndex = at;
          if (regex.test(text)) {
            found[k] = at;
            wanted &= ~(1 << k);
          }
        }
        // A match may start inside this one (after an apostrophe): the search goes on from the next character.
        lead.lastIndex = at + 1;
      }
      return found;
    },
  };
}
