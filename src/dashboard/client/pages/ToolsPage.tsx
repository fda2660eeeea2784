/**
 * Tools: what each profile can call, as the gateway exposes it — with its
 * class, whether it is gated behind an approval, and the audit risk when the
 * tool risk audit reports one.
 */
import { Badge, ClassBadge } from '../components/Badge.js';
import { Empty, ErrorNote, Loading } from '../components/Notice.js';
import { useApp } from '../context.js';
import { useLoader } from '../hooks.js';
import { href, navigate } from '../router.js';
import type { ProfileTools } from '../types.js';

export function ToolsPage({ query }: { query: URLSearchParams }) {
  const { api } = useApp();
  const profile = query.get('profile') ?? '';
  const all = useLoader(() => api.get<{ profiles: ProfileTools[] }>('/api/tools'), []);
  const profiles = all.data?.profiles ?? [];
  const shown = profile ? profiles.filter((p) => p.profile === profile) : profiles;
  const withRisk = profiles.some((p) => p.tools.some((t) => t.risk !== undefined));

  return (
    <main class="page" aria-labelledby="page-title">
      <div class="page-head">
        <div>
          <h1 id="page-title">Tools</h1>
          <p class="subtitle">
            What each profile's agents can see and call. Anything else does not exist for them.
          </p>
        </div>
        <label class="field field-inline">
          <span>Profile</span>
          <select
            value={profile}
            onChange={(e) => {
              const v = e.currentTarget.value;
              navigate(v ? `/tools?profile=${encodeURIComponent(v)}` : '/tools');
            }}
          >
            <option value="">All profiles</option>
            {profiles.map((p) => (
              <option key={p.profile} value={p.profile}>
                {p.profile}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={all.error} />
      {all.loading && !all.data ? <Loading /> : null}
      {all.data && shown.length === 0 ? <Empty>No such profile.</Empty> : null}
      {shown.map((p) => (
        <section key={p.profile} class="tool-profile" aria-labelledby={`profile-${p.profile}`}>
          <h2 id={`profile-${p.profile}`}>
            {p.profile} <span class="quiet">· {p.tools.length} tools</span>
          </h2>
          {p.tools.length === 0 ? (
            <Empty>This profile exposes no tools (or their upstreams are not connected).</Empty>
          ) : (
            <table class="table tools-table">
              <thead>
                <tr>
                  <th scope="col">Tool</th>
                  <th scope="col">Upstream</th>
                  <th scope="col">Class</th>
                  <th scope="col">Gate</th>
                  {withRisk ? <th scope="col">Audit risk</th> : null}
                  <th scope="col">Description</th>
                </tr>
              </thead>
              <tbody>
                {p.tools.map((t) => (
                  <tr key={t.name}>
                    <td data-label="Tool" class="mono">
                      <a
                        href={href(`/audit?tool=${encodeURIComponent(t.name)}`)}
                        title="Calls of this tool in the audit log"
                      >
                        {t.name}
                      </a>
                    </td>
                    <td data-label="Upstream">
                      {t.upstream}
                      {t.original !== t.name.slice(t.upstream.length + 2) ? (
                        <span class="quiet"> ({t.original})</span>
                      ) : null}
                    </td>
                    <td data-label="Class">
                      <ClassBadge value={t.class} />
                    </td>
                    <td data-label="Gate">
                      {t.gated ? <Badge tone="warn">approval</Badge> : <span class="quiet">none</span>}
                    </td>
                    {withRisk ? (
                      <td data-label="Audit risk">
                        {t.risk ? (
                          <Badge tone={riskTone(t.risk)}>{t.risk}</Badge>
                        ) : (
                          <span class="quiet">—</span>
                        )}
                      </td>
                    ) : null}
                    <td data-label="Description" class="desc">
                      {t.description ?? <span class="quiet">—</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ))}
    </main>
  );
}

function riskTone(risk: string): string {
  return risk === 'high' || risk === 'critical' ? 'bad' : risk === 'medium' ? 'warn' : 'muted';
}
