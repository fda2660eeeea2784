/**
 * Policy lint: things a valid policy can still get wrong about blast radius.
 * Each finding has a stable id, a location and a fix.
 */
import { readFileSync } from 'node:fs';
import { createScrubber } from '../scrub/index.js';
import type { LoadedPolicy } from './load.js';
import { positionOf } from './load.js';
import { exposedName } from './schema/index.js';

export type LintId =
  | 'ungated_irreversible'
  | 'coarse_gating'
  | 'shared_credential'
  | 'no_budgets'
  | 'broad_wildcard'
  | 'literal_secret';

export interface LintFinding {
  id: LintId;
  severity: 'high' | 'medium' | 'low';
  path: string;
  line: number;
  column: number;
  message: string;
}

/** Suffixes under which anyone can register a name: a wildcard on them allows strangers' hosts. */
const PUBLIC_SUFFIXES = new Set([
  'co.uk',
  'org.uk',
  'ac.uk',
  'com.au',
  'net.au',
  'co.jp',
  'co.nz',
  'com.br',
  'co.in',
  'com.cn',
  'github.io',
  'gitlab.io',
  'herokuapp.com',
  'vercel.app',
  'netlify.app',
  'pages.dev',
  'workers.dev',
  'appspot.com',
  'cloudfront.net',
  'amazonaws.com',
  's3.amazonaws.com',
  'azurewebsites.net',
  'blob.core.windows.net',
  'firebaseapp.com',
  'web.app',
  'ngrok.io',
  'ngrok-free.app',
  'fly.dev',
  'onrender.com',
  'glitch.me',
  'repl.co',
]);

export function lintPolicy(loaded: LoadedPolicy): LintFinding[] {
  const { policy } = loaded;
  const text = readFileSync(loaded.file, 'utf8');
  const findings: LintFinding[] = [];
  const add = (id: LintId, severity: LintFinding['severity'], path: (string | number)[], message: string) => {
    const pos = positionOf(text, path);
    findings.push({ id, severity, path: path.join('.'), line: pos.line, column: pos.column, message });
  };
  const exposedTo = (name: string) =>
    Object.entries(policy.profiles)
      .filter(([, p]) => p.tools.includes(name))
      .map(([n]) => n);

  for (const [upstream, rules] of Object.entries(policy.tools)) {
    for (const [tool, rule] of Object.entries(rules)) {
      if (!rule.expose || rule.approval) continue;
      if (rule.class !== 'irreversible' && rule.class !== 'external') continue;
      const profiles = exposedTo(exposedName(upstream, tool, rule));
      if (profiles.length === 0) continue;
      add(
        'ungated_irreversible',
        rule.class === 'irreversible' ? 'high' : 'medium',
        ['tools', upstream, tool],
        `${rule.class} tool exposed to ${profiles.join(', ')} without an approval gate: add approval (always, or a condition)`,
      );
    }
  }

  for (const [name, profile] of Object.entries(policy.profiles)) {
    const gated = profile.tools.filter((t) =>
      Object.entries(policy.tools).some(([up, rules]) =>
        Object.entries(rules).some(
          ([tool, r]) => exposedName(up, tool, r) === t && r.approval?.when === 'always',
        ),
      ),
    );
    if (profile.tools.length >= 4 && gated.length / profile.tools.length > 0.25) {
      add(
        'coarse_gating',
        'medium',
        ['profiles', name, 'tools'],
        `${gated.length} of ${profile.tools.length} tools need approval: the tools are too coarse; split them so most calls flow unattended`,
      );
    }
    const b = profile.budgets;
    if (
      b.tool_calls === undefined &&
      b.wall_clock === undefined &&
      b.tokens === undefined &&
      b.usd === undefined
    ) {
      add(
        'no_budgets',
        'medium',
        ['profiles', name],
        'no budgets: a looping agent runs until someone notices; set tool_calls and wall_clock at least',
      );
    }
    profile.egress.forEach((entry, i) => {
      const host = entry.slice(0, entry.lastIndexOf(':'));
      if (host.startsWith('*.') && PUBLIC_SUFFIXES.has(host.slice(2))) {
        add(
          'broad_wildcard',
          'high',
          ['profiles', name, 'egress', i],
          `${entry} covers a public suffix: anyone can register a host under it`,
        );
      }
    });
  }

  const refs = new Map<string, string[]>();
  const scrubber = createScrubber({
    pii: { email: 'allow', phone: 'allow', card: 'allow', iban: 'allow', national_id: 'allow' },
  });
  for (const [name, up] of Object.entries(policy.upstreams)) {
    const field = 'command' in up ? 'env' : 'headers';
    const values = 'command' in up ? up.env : up.headers;
    for (const [key, value] of Object.entries(values)) {
      if (typeof value === 'string') {
        // The scrubber's credential rules decide what looks like a secret; the same rules hide them everywhere else.
        const probe = `${key}=${value}`;
        if (scrubber.text(probe) !== probe || scrubber.text(value) !== value) {
          add(
            'literal_secret',
            'high',
            ['upstreams', name, field, key],
            `looks like a literal credential: use { secret: NAME } or { file: PATH }`,
          );
        }
      } else {
        const id = 'secret' in value ? `secret ${value.secret}` : `file ${value.file}`;
        refs.set(id, [...(refs.get(id) ?? []), name]);
      }
    }
  }
  for (const [id, upstreams] of refs) {
    const unique = [...new Set(upstreams)];
    if (unique.length > 1) {
      add(
        'shared_credential',
        'medium',
        ['upstreams', unique[1] as string],
        `${id} is shared by upstreams ${unique.join(', ')}: give each its own least-privilege credential`,
      );
    }
  }
  return findings;
}
