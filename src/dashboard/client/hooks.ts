/** Small shared hooks: a ticking clock and a throttled refetch. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** The current time, re-rendered every `ms` (ages and countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/**
 * Loads data now and again whenever `refresh()` is called, at most once per
 * `minGapMs`: a burst of live events becomes one request, never a storm.
 */
export function useLoader<T>(
  load: () => Promise<T>,
  deps: unknown[],
  minGapMs = 250,
): { data: T | undefined; error: unknown; refresh: () => void; loading: boolean } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const state = useRef({ inFlight: false, again: false, last: 0, timer: 0, generation: 0 });
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(async () => {
    const s = state.current;
    if (s.inFlight) {
      s.again = true;
      return;
    }
    s.inFlight = true;
    s.last = Date.now();
    const generation = s.generation;
    try {
      const value = await loadRef.current();
      if (generation === s.generation) {
        setData(value);
        setError(undefined);
      }
    } catch (e) {
      if (generation === s.generation) setError(e);
    } finally {
      s.inFlight = false;
      setLoading(false);
      if (s.again) {
        s.again = false;
        void run();
      }
    }
  }, []);

  const refresh = useCallback(() => {
    const s = state.current;
    if (s.timer) return;
    const wait = Math.max(0, minGapMs - (Date.now() - s.last));
    s.timer = window.setTimeout(() => {
      s.timer = 0;
      void run();
    }, wait);
  }, [run, minGapMs]);

  useEffect(() => {
    state.current.generation++;
    setLoading(true);
    void run();
    return () => {
      clearTimeout(state.current.timer);
      state.current.timer = 0;
    };
    // Callers list what their load reads in `deps`, like useEffect.
  }, deps);

  return { data, error, refresh, loading };
}
