/**
 * Wakeups: a wake reaches a waiter whether it sleeps at that moment or is
 * busy (re-reading the store), and what the wake said comes with it.
 */
import { describe, expect, it } from 'vitest';
import { Wakeups } from './wakeups.js';

const never = new AbortController().signal;

describe('Wakeups', () => {
  it('ends a sleep at once with what the wake said', async () => {
    const wakeups = new Wakeups();
    const watch = wakeups.watch('apr_1');
    const slept = watch.sleep(60_000, never);
    wakeups.wake('apr_1', { state: 'approved' });
    expect(await slept).toEqual({ state: 'approved' });
    watch.close();
  });

  it('keeps a wake that came while the waiter was not asleep, for its next sleep', async () => {
    const wakeups = new Wakeups();
    const watch = wakeups.watch('apr_1');
    wakeups.wake('apr_1', { state: 'pending' });
    wakeups.wake('apr_1', { state: 'approved' });
    expect(await watch.sleep(60_000, never)).toEqual({ state: 'approved' });
    // Used once: the sleep after it waits for its timer.
    expect(await watch.sleep(5, never)).toBeUndefined();
    watch.close();
  });

  it('wakes only the watchers of that approval, and forgets a watcher once closed', async () => {
    const wakeups = new Wakeups();
    const one = wakeups.watch('apr_1');
    const two = wakeups.watch('apr_2');
    wakeups.wake('apr_2', {});
    expect(await one.sleep(5, never)).toBeUndefined();
    expect(await two.sleep(60_000, never)).toEqual({});
    one.close();
    two.close();
    expect(wakeups.watching('apr_1') + wakeups.watching('apr_2')).toBe(0);
  });

  it('ends a sleep without a wake when the caller aborts or goes', async () => {
    const wakeups = new Wakeups();
    const watch = wakeups.watch('apr_1');
    const cancel = new AbortController();
    const gone = new AbortController();
    const first = watch.sleep(60_000, cancel.signal, gone.signal);
    gone.abort();
    expect(await first).toBeUndefined();
    const second = watch.sleep(60_000, cancel.signal);
    cancel.abort();
    expect(await second).toBeUndefined();
    watch.close();
  });
});
