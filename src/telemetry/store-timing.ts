/**
 * Store latency without touching the stores: a proxy around each area
 * (`runs`, `events`, `approvals`, ...) times every method that returns a
 * promise and reports it as `area.method`, a fixed set of names.
 */
import type { Store } from '../store/store.js';

export type StoreTiming = (operation: string, ok: boolean, seconds: number) => void;

/** The store's areas (Store interface); anything else passes through untouched. */
const AREAS = new Set(['runs', 'events', 'calls', 'approvals', 'tokens', 'credentials']);

export function timedStore(store: Store, report: StoreTiming): Store {
  const areas = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value === 'function') return value.bind(target);
      if (typeof key !== 'string' || !AREAS.has(key) || value === null || typeof value !== 'object')
        return value;
      let area = areas.get(key);
      if (!area) {
        area = timedArea(value, key, report);
        areas.set(key, area);
      }
      return area;
    },
  });
}

function timedArea(area: object, name: string, report: StoreTiming): object {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(area, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      let fn = wrapped.get(key);
      if (!fn) {
        const operation = `${name}.${key}`;
        fn = (...args: unknown[]) => {
          const started = performance.now();
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) {
            return result.then(
              (v: unknown) => {
                report(operation, true, (performance.now() - started) / 1000);
                return v;
              },
              (error: unknown) => {
                report(operation, false, (performance.now() - started) / 1000);
                throw error;
              },
            );
          }
          return result;
        };
        wrapped.set(key, fn);
      }
      return fn;
    },
  });
}
