/**
 * A request's cancellation (src/llm/signals.ts) tied to the run's long-lived
 * signal: every request that listens to it shares one listener of the proxy's,
 * and a kill still reaches every request in flight, and only those.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cancelFor, onSignalAbort } from '../../src/llm/signals.js';

describe('LLM request cancellation on the run signal', () => {
  it('keeps one listener on the run signal however many requests listen to it', () => {
    const run = new AbortController();
    const requests = Array.from({ length: 50 }, () => cancelFor([run.signal]));
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(1);
    for (const r of requests) r.dispose();
    const next = cancelFor([run.signal]);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(1);
    next.dispose();
  });

  it('cancels every request in flight when the run is killed, with the kill as the reason', () => {
    const run = new AbortController();
    const requests = Array.from({ length: 5 }, () => cancelFor([run.signal]));
    const reasons: Error[] = [];
    for (const r of requests) r.onAbort((reason) => reasons.push(reason));
    run.abort(new Error('killed'));
    expect(requests.every((r) => r.aborted)).toBe(true);
    expect(reasons.map((r) => r.message)).toEqual(Array(5).fill('killed'));
    expect(requests.some((r) => r.clientGone)).toBe(false);
  });

  it('does not cancel a request that finished before the kill', () => {
    const run = new AbortController();
    const done = cancelFor([run.signal]);
    const live = cancelFor([run.signal]);
    done.dispose();
    run.abort(new Error('killed'));
    expect(done.aborted).toBe(false);
    expect(live.aborted).toBe(true);
  });

  it('cancels at once a request made on a run already killed', () => {
    const run = new AbortController();
    run.abort(new Error('killed'));
    const r = cancelFor([run.signal]);
    expect(r.aborted).toBe(true);
    expect(r.reason?.message).toBe('killed');
  });

  it('calls a function waiting twice on one signal twice, as two listeners were', () => {
    const signal = new AbortController();
    let calls = 0;
    const listener = () => {
      calls++;
    };
    onSignalAbort(signal.signal, listener);
    onSignalAbort(signal.signal, listener);
    signal.abort();
    expect(calls).toBe(2);
  });

  it('still cancels requests on a run killed, then on another run of the same signal set', () => {
    const a = new AbortController();
    const b = new AbortController();
    const onA = cancelFor([a.signal]);
    const onB = cancelFor([b.signal]);
    a.abort(new Error('a'));
    expect(onA.aborted).toBe(true);
    expect(onB.aborted).toBe(false);
    b.abort(new Error('b'));
    expect(onB.reason?.message).toBe('b');
  });

  it('cancels every other request when one of them throws on the kill, then reports the error', () => {
    let onAbort: (() => void) | undefined;
    const signal = {
      aborted: false,
      addEventListener: (_type: string, listener: () => void) => {
        onAbort = listener;
      },
    } as unknown as AbortSignal;
    const heard: number[] = [];
    onSignalAbort(signal, () => heard.push(1));
    onSignalAbort(signal, () => {
      throw new Error('listener failed');
    });
    onSignalAbort(signal, () => heard.push(3));
    expect(() => onAbort?.()).toThrow('listener failed');
    expect(heard).toEqual([1, 3]);
  });
});
