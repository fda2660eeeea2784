/**
 * The scan lets go of an anchor's reports before they reach the rules where no rule could run on
 * them: inside a match (or fail-closed redaction) of every rule owning the anchor (ScanSkip.until),
 * and where a case-sensitive anchor (`SK`) is spelled in another case. `sk-` repeated made a
 * report every three characters for both. A secret right past such a stretch, or in the anchor's
 * own case among the filler, must still be redacted.
 */
import { describe, expect, it } from 'vitest';
import { openAiShapedKey } from '../../test/helpers/fake-keys.js';
import { hexSecret } from '../../test/helpers/scrub-cases.js';
import { seeded } from '../../test/helpers/seeded.js';
import { createScrubber } from './index.js';

const FLOOD = 'sk-'.repeat(20_000);
const rng = seeded(15);
/** `sk-` and 24 key characters the OpenAI rule always redacts. */
const key = (): string => openAiShapedKey(rng);

describe('reports let go inside covered anchors', () => {
  it('redacts a Twilio key spelled in its case among `sk-` repeated', () => {
    const twilio = `SK${hexSecret(32, 1)}`;
    const out = createScrubber().text(`${FLOOD} ${twilio} ${FLOOD}`);
    expect(out).not.toContain(twilio);
  });

  it('redacts a Twilio key among `sk-` repeated when the anchors are scanned by another loop than the dense one', () => {
    // Hundreds of configured secrets: their automaton does not fit the dense loop, so the case
    // of a case-sensitive anchor is checked at the hit instead.
    const scrubber = createScrubber({
      secrets: Array.from({ length: 300 }, (_, k) => hexSecret(24, 100 + k)),
    });
    expect(scrubber.stats.baseLoop).not.toBe('dense');
    const twilio = `SK${hexSecret(32, 2)}`;
    expect(scrubber.text(`${FLOOD} ${twilio} ${FLOOD}`)).not.toContain(twilio);
  });

  it('redacts a key whose anchor starts one character after the previous match ends', () => {
    const first = key();
    const second = key();
    const out = createScrubber().text(`${first} ${second}`);
    expect(out).not.toContain(first.slice(3));
    expect(out).not.toContain(second.slice(3));
  });

  it('redacts every key of a page of keys one space apart', () => {
    const keys = Array.from({ length: 200 }, () => key());
    const out = createScrubber().text(keys.join(' '));
    for (const each of keys) expect(out).not.toContain(each.slice(3));
  });

  it('redacts a key of another rule owning the same anchor after one rule matched', () => {
    // `sk-` is the anchor of two rules: the OpenAI key covers its match, the other rule nothing.
    const openAi = key();
    const provider = `sk-${hexSecret(32, 5)}`;
    const out = createScrubber().text(`${openAi} ${provider}`);
    expect(out).not.toContain(provider.slice(3));
  });

  it('redacts a key after `sk-` repeated failed closed over its run, in a stream too', () => {
    const planted = key();
    const text = `${FLOOD}\n${planted}\n`;
    expect(createScrubber().text(text)).not.toContain(planted.slice(3));
    const stream = createScrubber().stream();
    let out = '';
    for (let at = 0; at < text.length; at += 4096) out += stream.push(text.slice(at, at + 4096));
    out += stream.flush();
    expect(out).not.toContain(planted.slice(3));
  });

  it('redacts a key at the start of the next text: no skip carries over from the last scan', () => {
    const scrubber = createScrubber();
    const planted = key();
    scrubber.text(`${planted} ${FLOOD}`);
    expect(scrubber.text(`${planted} x`)).not.toContain(planted.slice(3));
  });
});
