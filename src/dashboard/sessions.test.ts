import { describe, expect, it } from 'vitest';
import { csrfMatches, Sessions } from './sessions.js';

const alice = { name: 'alice', roles: ['admin'] };

describe('Sessions', async () => {
  it('ends a session after the idle time, and after the maximum age however active', async () => {
    let now = 0;
    const sessions = new Sessions({ now: () => now, idleMs: 1_000, maxAgeMs: 5_000 });
    const idle = (await sessions.create(alice)).id;
    now = 999;
    expect(sessions.get(idle)).toBeDefined();
    now = 1_999;
    expect(sessions.get(idle)).toBeUndefined();

    now = 0;
    const busy = (await sessions.create(alice)).id;
    for (now = 500; now < 5_000; now += 500) expect(sessions.get(busy)).toBeDefined();
    now = 5_000;
    expect(sessions.get(busy)).toBeUndefined();
  });

  it('gives each session its own random id and CSRF token, compared in constant time', async () => {
    const sessions = new Sessions();
    const a = await sessions.create(alice);
    const b = await sessions.create(alice);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfMatches(a.session, a.session.csrf)).toBe(true);
    expect(csrfMatches(a.session, b.session.csrf)).toBe(false);
    expect(csrfMatches(a.session, undefined)).toBe(false);
    await sessions.end(a.id);
    expect(sessions.get(a.id)).toBeUndefined();
    expect(sessions.get(b.id)?.operator.name).toBe('alice');
  });

  it('drops the oldest sessions beyond the cap', async () => {
    const sessions = new Sessions({ maxSessions: 2 });
    const first = (await sessions.create(alice)).id;
    await sessions.create(alice);
    await sessions.create(alice);
    expect(sessions.size).toBe(2);
    expect(sessions.get(first)).toBeUndefined();
  });
});
