/**
 * A progress message an upstream sends mid-call is upstream text on its way
 * to the agent (and often its model): it is scrubbed and stripped of hidden
 * characters like any output, then scrubbed again (removing a hidden
 * character can join a secret to the next word). It is a status line, not a
 * channel: one longer than 8 KiB, or that reads like an injection, is not
 * passed on (the numbers still are), and what passes is cut to 1,024
 * characters.
 */
import { stripHidden } from './hidden.js';
import { findInjection } from './injection.js';
import { changedSpan, readBack } from './joined.js';
import { asciiReading } from './look-alikes.js';

export const MAX_PROGRESS_MESSAGE = 1024;
const MAX_READ = 8 * 1024;

export function cleanProgressMessage(
  message: string | undefined,
  scrub: (text: string) => string,
): string | undefined {
  if (typeof message !== 'string' || message.length === 0 || message.length > MAX_READ) return undefined;
  const cleaned = scrub(stripHidden(scrub(message)).text);
  if (cleaned.trim() === '' || findInjection(cleaned).length > 0) return undefined;
  return cleaned.length > MAX_PROGRESS_MESSAGE ? `${cleaned.slice(0, MAX_PROGRESS_MESSAGE)}…` : cleaned;
}

/** Text of a call's earlier progress messages kept to read the next one joined with. */
export const PROGRESS_JOINED = 8 * 1024;

/**
 * The cleaner of one call's progress messages: each is cleaned as above, then read joined with
 * those passed before it, as the agent reads them. An upstream that cuts a credential into
 * several messages passed every message's scrub before. What was sent cannot be taken back, so
 * once a message would complete a secret begun in earlier ones, that message and every later
 * message of the call pass without text (the numbers still do): the agent never holds the whole.
 * A message completing an injection begun in earlier ones passes without text too.
 */
export interface ProgressCleaner {
  (message: string | undefined): string | undefined;
  /** The text passed so far (its last PROGRESS_JOINED characters), as the agent read it. */
  shown(): string;
}

function readsAsInjection(text: string): boolean {
  return findInjection(text).length > 0;
}

export function progressCleaner(scrub: (text: string) => string): ProgressCleaner {
  let sent = '';
  let stopped = false;
  const clean = (message: string | undefined): string | undefined => {
    if (stopped) return undefined;
    let cleaned = cleanProgressMessage(message, scrub);
    if (cleaned === undefined) return undefined;
    // An injection cut over messages reads whole where they are shown run together or one a line;
    // what came before passed, so only this message, the one completing it, goes without text.
    if (sent && (readsAsInjection(sent + cleaned) || readsAsInjection(`${sent}\n${cleaned}`)))
      return undefined;
    const joined = sent + cleaned;
    const scrubbed = scrub(joined);
    if (scrubbed !== joined) {
      if (!scrubbed.startsWith(sent)) {
        stopped = true;
        return undefined;
      }
      // Found within this message, with what came before as its context.
      cleaned = scrubbed.slice(sent.length);
    }
    // Read again with look-alike letters as what they look like (inspect/joined.ts).
    const whole = sent + cleaned;
    const reading = asciiReading(whole);
    const reread = reading ? readBack({ text: whole, reading }, scrub(reading.text)) : whole;
    if (reread !== whole) {
      const span = changedSpan(whole, reread);
      if (span.start < sent.length) {
        stopped = true;
        return undefined;
      }
      const at = span.start - sent.length;
      cleaned = cleaned.slice(0, at) + span.replacement + cleaned.slice(span.end - sent.length);
    }
    sent = (sent + cleaned).slice(-PROGRESS_JOINED);
    return cleaned;
  };
  return Object.assign(clean, { shown: () => sent });
}
