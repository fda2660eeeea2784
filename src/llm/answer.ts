/**
 * Scrubbing a whole (non-streamed) answer: JSON is scrubbed as a value and
 * re-serialised, so it stays JSON of the same shape with every string
 * scrubbed (keys too); anything else (an error page) is scrubbed as text.
 */
import type { Scrubber } from '../scrub/index.js';

export function scrubAnswer(text: string, scrubber: Scrubber): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return scrubber.text(text);
  }
  return JSON.stringify(scrubber.value(parsed));
}
