import { describe, expect, it } from 'vitest';
import { belongsTo, newSessionId } from './session-resume.js';

describe('session ids', () => {
  it('name the run they belong to', () => {
    const id = newSessionId('run_a');
    expect(belongsTo(id, 'run_a')).toBe(true);
    expect(belongsTo(id, 'run_b')).toBe(false);
  });

  it('are reopened only in exactly the shape the gateway makes', () => {
    const tag = newSessionId('run_a').slice(37);
    for (const forged of [
      `x.${tag}`,
      `${'a'.repeat(5000)}.${tag}`,
      `${crypto.randomUUID().toUpperCase()}.${tag}`,
      `${crypto.randomUUID()}.${tag}\n`,
      `${crypto.randomUUID()}.${tag}.${tag}`,
      crypto.randomUUID(),
    ])
      expect(belongsTo(forged, 'run_a')).toBe(false);
  });
});
