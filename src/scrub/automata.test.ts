/**
 * The automata of secrets added at run time (every live run's token, grants): they are read over
 * every text the gateway scrubs: the WebAssembly loop reads them at 1.1 ms per MiB, the
 * JavaScript one at 4–8. Both the runtime automaton (built at a fold) and the delta (rebuilt at
 * every run's start and end) take it, cut at MIN_CUT_DEPTH so that a build fills few rows.
 */
import { describe, expect, it } from 'vitest';
import { mintToken } from '../runs/tokens.js';
import { KnownSecrets } from './automata.js';
import { knownSecretForms } from './encodings.js';
import { createScrubber, REDACTED_SECRET } from './index.js';

const tokens = (count: number) => Array.from({ length: count }, () => mintToken('bh_run_'));

describe('the automata of run-time secrets', () => {
  for (const count of [1, 8]) {
    it(`scan the delta of ${count} run token(s) in WebAssembly, cut at MIN_CUT_DEPTH (its rebuild stays cheap)`, () => {
      const known = new KnownSecrets(new Map());
      for (const token of tokens(count)) known.add([token], false);
      expect(known.runtime).toBeNull();
      expect(known.delta?.ac.loop).toBe('prefix');
    });
  }

  it('scan the runtime automaton a fold builds in WebAssembly, cut when large', () => {
    const known = new KnownSecrets(new Map());
    for (const token of tokens(40)) known.add([token], false);
    expect(known.runtime).not.toBeNull();
    expect(known.runtime?.ac.loop).toBe('prefix');
  });

  for (const count of [1, 8, 24, 40]) {
    it(`redacts every form of each of ${count} run tokens, wherever it stands`, () => {
      const scrubber = createScrubber();
      const added = tokens(count);
      for (const token of added) scrubber.addSecrets([token]);
      for (const token of added) {
        for (const form of knownSecretForms(token, { wrapped: false })) {
          const out = scrubber.text(`${form} (${form}) x${' '.repeat(70_000)}${form}`);
          expect(out).not.toContain(form);
          expect(out.startsWith(REDACTED_SECRET)).toBe(true);
        }
      }
    });
  }
});
