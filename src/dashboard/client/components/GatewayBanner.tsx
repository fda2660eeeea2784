/**
 * When the gateway stops answering, the page says so at the top, and what it
 * means: the figures are frozen, and an action taken now changes nothing.
 * A blip shorter than a couple of seconds (the feed reconnecting) shows nothing.
 */
import { useEffect, useState } from 'preact/hooks';
import type { LiveStatus } from '../live.js';

const GRACE_MS = 2_000;

export function GatewayBanner({ status }: { status: LiveStatus }) {
  const [since, setSince] = useState<number | undefined>(undefined);
  useEffect(() => {
    if (status !== 'offline') {
      setSince(undefined);
      return;
    }
    const went = Date.now();
    const timer = window.setTimeout(() => setSince(went), GRACE_MS);
    return () => window.clearTimeout(timer);
  }, [status]);
  if (since === undefined) return null;
  const at = new Date(since).toLocaleTimeString('en-GB');
  return (
    <div class="gateway-banner" role="alert">
      <strong>The gateway is unreachable</strong> (since {at}). What this page shows is as of then and is not
      updating. An approval, denial or kill you try now fails and changes nothing; calls held for approval
      keep waiting until their deadline. The page reconnects by itself.
    </div>
  );
}
