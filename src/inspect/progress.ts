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
