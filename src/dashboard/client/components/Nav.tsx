/** The top bar: pages (with the live pending-approvals count), connection state, operator, sign-out. */
import type { LiveStatus } from '../live.js';
import { href } from '../router.js';

const PAGES = [
  { path: '/runs', label: 'Runs' },
  { path: '/approvals', label: 'Approvals' },
  { path: '/audit', label: 'Audit log' },
  { path: '/tools', label: 'Tools' },
] as const;

export function Nav(props: {
  current: string;
  pending: number | undefined;
  status: LiveStatus;
  operator: string;
  onSignOut: () => void;
}) {
  const section = `/${props.current.split('/')[1] ?? ''}`;
  return (
    <header class="topbar">
      <a class="brand" href={href('/runs')}>
        <span class="brand-mark" aria-hidden="true" />
        bulkhead
      </a>
      <nav aria-label="Pages">
        <ul class="nav">
          {PAGES.map((p) => (
            <li key={p.path}>
              <a
                href={href(p.path)}
                aria-current={
                  section === p.path || (section === '/' && p.path === '/runs') ? 'page' : undefined
                }
              >
                {p.label}
                {p.path === '/approvals' && props.pending !== undefined ? (
                  <span class={`count${props.pending > 0 ? ' count-hot' : ''}`} data-testid="pending-count">
                    {props.pending}
                    <span class="visually-hidden"> pending</span>
                  </span>
                ) : null}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="topbar-right">
        <span class={`live live-${props.status}`} role="status" title="Live updates">
          <span class="live-dot" aria-hidden="true" />
          {props.status === 'live' ? 'Live' : props.status === 'connecting' ? 'Connecting' : 'Offline'}
        </span>
        <span class="operator" title="Signed in as">
          {props.operator}
        </span>
        <button type="button" class="btn btn-ghost" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
