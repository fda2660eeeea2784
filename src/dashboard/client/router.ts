/**
 * A small history router for the dashboard's few pages. Paths are real
 * (`/ui/runs/ID`) so links the gateway sends in notifications open directly;
 * the server answers every `/ui/*` page with the same shell.
 */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui';

export interface Route {
  /** Path below the base, always starting with `/`. */
  path: string;
  query: URLSearchParams;
}

function current(): Route {
  const { pathname, search } = window.location;
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) || '/' : '/';
  return { path, query: new URLSearchParams(search) };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => {
  for (const l of listeners) l();
});

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = to.startsWith(BASE) ? to : `${BASE}${to}`;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  for (const l of listeners) l();
}

export function href(to: string): string {
  return `${BASE}${to}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return route;
}

/** Follows a same-app link without a page load; modified clicks (new tab) keep the browser's behaviour. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest('a');
  const target = anchor?.getAttribute('href');
  if (!anchor || !target?.startsWith(`${BASE}/`) || anchor.target === '_blank') return;
  event.preventDefault();
  navigate(target);
}
