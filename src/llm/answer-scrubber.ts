/**
 * The scrubber one streamed answer's short strings go through (the dialects' `text`: an event's
 * id, its model, a fingerprint), scanning each string once at most:
 *   - a string the request itself sent on (the model it named) passes as it is: the agent wrote it,
 *     so an upstream echoing it tells the agent nothing it did not know. `message_start` echoes the
 *     model, and its scan was about 10 µs of every request's first byte;
 *   - a string this answer already carried gets the verdict it got then (every Chat Completions
 *     chunk repeats its id and model). A secret learnt since could only hide what the agent has
 *     already read; one forgotten since stays hidden.
 * Everything else (values, streamed text, secrets learnt) is the scrubber's own.
 */
import type { Scrubber } from '../scrub/index.js';

/** Strings longer than this are scanned each time: ids and model names are far shorter. */
const MAX_REMEMBERED_CHARS = 256;
/** Verdicts one answer keeps; a few distinct ids and names are all a stream repeats. */
const MAX_REMEMBERED = 64;

export function answerScrubber(scrubber: Scrubber, sent: readonly string[]): Scrubber {
  const own = new Set(sent);
  const seen = new Map<string, string>();
  return {
    text(input) {
      if (own.has(input)) return input;
      const known = seen.get(input);
      if (known !== undefined) return known;
      const out = scrubber.text(input);
      if (input.length <= MAX_REMEMBERED_CHARS && seen.size < MAX_REMEMBERED) seen.set(input, out);
      return out;
    },
    value: (input) => scrubber.value(input),
    addSecrets: (values) => scrubber.addSecrets(values),
    forgetSecrets: (values) => scrubber.forgetSecrets(values),
    stream: () => scrubber.stream(),
  };
}
