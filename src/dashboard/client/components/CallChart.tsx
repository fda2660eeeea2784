/**
 * Calls and refusals over time, overall or for one run: one stacked bar per
 * time slice (allowed, held, refused), drawn as SVG with no chart library.
 * A burst of refusals stands out at a glance; the numbers are in each bar's
 * title and in the summary line for screen readers.
 */
import { useApp } from '../context.js';
import { useLoader } from '../hooks.js';
import { useLiveEvents } from '../live.js';
import type { CallStats } from '../types.js';

const WIDTH = 600;
const HEIGHT = 90;

export function CallChart({ runId, minutes = 60 }: { runId?: string; minutes?: number }) {
  const { api, feed } = useApp();
  const query = `/api/stats/calls?minutes=${minutes}${runId ? `&run=${encodeURIComponent(runId)}` : ''}`;
  const stats = useLoader(() => api.get<CallStats>(query), [query], 2_000);
  useLiveEvents(feed, (event) => {
    if (event.kind === 'tools/call' && (!runId || event.runId === runId)) stats.refresh();
  });
  const buckets = stats.data?.buckets ?? [];
  const totals = buckets.reduce(
    (t, b) => ({ allow: t.allow + b.allow, deny: t.deny + b.deny, hold: t.hold + b.hold }),
    { allow: 0, deny: 0, hold: 0 },
  );
  const peak = Math.max(1, ...buckets.map((b) => b.allow + b.deny + b.hold));
  const slot = buckets.length ? WIDTH / buckets.length : WIDTH;
  const bar = Math.max(1, slot - 1);
  const y = (n: number) => (n / peak) * (HEIGHT - 4);
  const summary = `Last ${minutes} minutes: ${totals.allow} allowed, ${totals.hold} held, ${totals.deny} refused`;
  return (
    <figure class="call-chart" aria-label={`Calls and refusals${runId ? ' of this run' : ''}`}>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={summary}>
        {buckets.map((b, i) => {
          const x = i * slot;
          const allow = y(b.allow);
          const hold = y(b.hold);
          const deny = y(b.deny);
          const when = new Date(b.at).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
          return (
            <g key={b.at} data-refused={b.deny}>
              <title>{`${when}: ${b.allow} allowed, ${b.hold} held, ${b.deny} refused`}</title>
              <rect class="bar-allow" x={x} y={HEIGHT - allow} width={bar} height={allow} />
              <rect class="bar-hold" x={x} y={HEIGHT - allow - hold} width={bar} height={hold} />
              <rect class="bar-deny" x={x} y={HEIGHT - allow - hold - deny} width={bar} height={deny} />
            </g>
          );
        })}
      </svg>
      <figcaption class="quiet small">
        {stats.error ? 'Chart unavailable.' : summary}
        <span class="legend">
          <i class="swatch bar-allow" /> allowed <i class="swatch bar-hold" /> held{' '}
          <i class="swatch bar-deny" /> refused
        </span>
      </figcaption>
    </figure>
  );
}
