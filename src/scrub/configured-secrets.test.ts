/**
 * A scrubber with tens of configured secrets (per-tool credentials): its base automaton is too
 * large to be all dense and is scanned by the prefix loop (prefix-walk.ts). Every form of every
 * secret must still be redacted, whole or split across a stream's chunks.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createScrubber, REDACTED_SECRET } from './index.js';

const SECRETS = Array.from({ length: 20 }, (_, i) => `cred-${i}-${randomBytes(24).toString('base64url')}`);
const scrubber = createScrubber({ secrets: SECRETS });
const FILLER = 'INFO request id=42 path=/api/v1/items status=200 took=3ms\n'.repeat(40);

/** Each secret as a tool would carry it. */
function carriers(secret: string): Record<string, string> {
  // Long enough to wrap, with the secret across a line break.
  const b64 = Buffer.from(`${'notes '.repeat(9)}${secret} done`).toString('base64');
  return {
    plain: secret,
    'URL-encoded': encodeURIComponent(`${secret}/x`),
    'JSON-escaped': JSON.stringify(`${secret}/\u00e9`).slice(1, -1).replaceAll('/', '\\/'),
    hex: Buffer.from(secret).toString('hex'),
    'base64 wrapped at 76': (b64.match(/.{1,76}/g) ?? []).join('\r\n'),
  };
}

describe('a scrubber with tens of configured secrets', () => {
  it('scans its base automaton with the prefix loop', () => {
    expect(scrubber.stats.baseLoop).toBe('prefix');
    expect(createScrubber({ secrets: SECRETS.slice(0, 1) }).stats.baseLoop).toBe('dense');
  });

  it('redacts every secret in every form, among ordinary text', () => {
    for (const secret of SECRETS) {
      for (const [form, carried] of Object.entries(carriers(secret))) {
        const out = scrubber.text(`${FILLER}value: ${carried} end\n${FILLER}`);
        expect(out, `${form} of ${secret}`).toContain(
          form === 'base64 wrapped at 76' ? '[REDACTED:' : REDACTED_SECRET,
        );
        expect(out, form).not.toContain(carried.split('\r\n')[0]);
        expect(out.endsWith(`end\n${FILLER}`), form).toBe(true);
      }
    }
  });

  it('redacts a secret that a stream chunk boundary splits, at every offset', () => {
    const secret = SECRETS[7]!;
    const text = `${FILLER}key ${secret} tail\n`;
    for (let cut = FILLER.length; cut <= FILLER.length + secret.length + 5; cut++) {
      const stream = scrubber.stream();
      const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
      expect(out, `cut at ${cut}`).toBe(scrubber.text(text));
      expect(out).not.toContain(secret.slice(6));
    }
  });

  it('leaves text with the secrets’ heads but not the secrets alone', () => {
    // Each head is long enough to start a walk in the trie, which must end without a match.
    const heads = SECRETS.map((s) => `${s.slice(0, 20)} `).join('');
    expect(scrubber.text(heads)).toBe(heads);
  });
});
