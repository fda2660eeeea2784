/**
 * The dashboard app: checks the session, shows sign-in or the signed-in
 * shell (top bar, live feed, the page for the current path).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, createApi } from './api.js';
import { GatewayBanner } from './components/GatewayBanner.js';
import { Nav } from './components/Nav.js';
import { App as AppContext } from './context.js';
import { useLoader } from './hooks.js';
import { LiveFeed, type LiveStatus, useLiveEvents } from './live.js';
import { ApprovalsPage } from './pages/ApprovalsPage.js';
import { AuditPage } from './pages/AuditPage.js';
import { RunPage } from './pages/RunPage.js';
import { RunsPage } from './pages/RunsPage.js';
import { SignIn } from './pages/SignIn.js';
import { ToolsPage } from './pages/ToolsPage.js';
import { onLinkClick, type Route, useRoute } from './router.js';
import type { ApprovalView, SessionInfo } from './types.js';

export function App() {
  // undefined: still asking the gateway; null: signed out.
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    fetch('/ui/session', { credentials: 'same-origin' })
      .then(async (r) => (r.ok ? ((await r.json()) as SessionInfo) : null))
      .then(setSession, () => setSession(null));
  }, []);

  if (session === undefined) return <p class="boot">Loading…</p>;
  if (session === null) {
    return (
      <SignIn
        expired={expired}
        onSignedIn={(s) => {
          setExpired(false);
          setSession(s);
        }}
      />
    );
  }
  return (
    <SignedIn
      session={session}
      onSignedOut={(becauseExpired) => {
        setExpired(becauseExpired);
        setSession(null);
      }}
    />
  );
}

function SignedIn({
  session,
  onSignedOut,
}: {
  session: SessionInfo;
  onSignedOut: (expired: boolean) => void;
}) {
  const route = useRoute();
  const signedOut = useRef(onSignedOut);
  signedOut.current = onSignedOut;
  // One API client and one live feed per session.
  const { api, feed } = useMemo(() => {
    const client = createApi({ csrf: () => session.csrf, onSignedOut: () => signedOut.current(true) });
    return { api: client, feed: new LiveFeed('/api/stream', () => signedOut.current(true)) };
  }, [session]);
  const [status, setStatus] = useState<LiveStatus>(feed.status);

  useEffect(() => {
    const off = feed.onStatus(setStatus);
    feed.start();
    return () => {
      off();
      feed.stop();
    };
  }, [feed]);

  const pending = useLoader(
    () =>
      api
        .get<{ approvals: ApprovalView[] }>('/api/approvals?state=pending')
        .then((r) => r.approvals.length)
        .catch((e: unknown) => {
          // A gateway without approvals has no such route: no count, not an error.
          if (e instanceof ApiError && e.status === 404) return undefined;
          throw e;
        }),
    [api],
  );
  useLiveEvents(feed, (event) => {
    if (event.kind.startsWith('approval.') || event.decision === 'hold') pending.refresh();
  });

  const title = pageTitle(route);
  useEffect(() => {
    document.title = `${pending.data ? `(${pending.data}) ` : ''}${title} · bulkhead`;
  }, [title, pending.data]);

  const signOut = async () => {
    await api.del('/ui/session').catch(() => undefined);
    feed.stop();
    onSignedOut(false);
  };

  return (
    <AppContext.Provider value={{ api, feed, session }}>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: delegates clicks on the links inside */}
      {/* biome-ignore lint/a11y/useKeyWithClickEvents: links keep their own keyboard behaviour */}
      <div class="shell" onClick={onLinkClick}>
        <a class="skip" href="#content">
          Skip to content
        </a>
        <Nav
          current={route.path}
          pending={pending.data}
          status={status}
          operator={session.operator.name}
          onSignOut={() => void signOut()}
        />
        <GatewayBanner status={status} />
        <div id="content" tabIndex={-1}>
          <Page route={route} />
        </div>
      </div>
    </AppContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  const parts = route.path.split('/').filter(Boolean).map(decodeURIComponent);
  const [section, id] = parts;
  switch (section) {
    case undefined:
    case 'runs':
      return id ? <RunPage id={id} /> : <RunsPage />;
    case 'approvals':
      return <ApprovalsPage {...(id ? { id } : {})} />;
    case 'audit':
      return <AuditPage query={route.query} />;
    case 'tools':
      return <ToolsPage query={route.query} />;
    default:
      return (
        <main class="page">
          <h1>Not found</h1>
          <p>There is no such page in the dashboard.</p>
        </main>
      );
  }
}

function pageTitle(route: Route): string {
  const [section, id] = route.path.split('/').filter(Boolean);
  if (section === 'approvals') return id ? 'Approval' : 'Approvals';
  if (section === 'audit') return 'Audit log';
  if (section === 'tools') return 'Tools';
  return id ? `Run ${decodeURIComponent(id)}` : 'Runs';
}
