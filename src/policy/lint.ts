/**
 * Policy lint: what a policy that loads can still get wrong about blast
 * radius. Each finding has a stable id (scripts and suppressions key on it,
 * never on the message), a severity, the file:line:column of the YAML to
 * change, and the fix in its message. Lint reads the policy only; it never
 * resolves a secret or starts a server.
 */
import { parse as parseHost } from 'tldts';
import { parseDocument } from 'yaml';
import { policyLocator } from './positions.js';
import { exposedName, type Policy } from './schema/index.js';
import { sideDoorsOpen } from './schema/llm.js';

export const LINT_IDS = [
  'ungated_irreversible',
  'ungated_external',
  'external_held_by_flow',
  'coarse_gating',
  'shared_credential',
  'no_budgets',
  'broad_wildcard',
  'literal_secret',
  'llm_unpriced_model',
  'llm_side_door',
] as const;
export type LintId = (typeof LINT_IDS)[number];

export interface LintFinding {
  id: LintId;
  severity: 'high' | 'medium' | 'low';
  /** Dotted path in the policy, e.g. `tools.orders.refund_order`. */
  path: string;
  line: number;
  column: number;
  message: string;
}

/** More gated tools than this share of a profile means the tools are too coarse. */
export const COARSE_GATING_SHARE = 0.25;

export function lintPolicy(policy: Policy, text: string): LintFinding[] {
  const locate = policyLocator(text);
  const findings: LintFinding[] = [];
  const add = (id: LintId, severity: LintFinding['severity'], path: (string | number)[], message: string) => {
    const pos = locate(path);
    findings.push({ id, severity, path: path.join('.'), line: pos.line, column: pos.column, message });
  };
  ungatedTools(policy, add);
  coarseGating(policy, add);
  for (const [name, profile] of Object.entries(policy.profiles)) {
    const b = profile.budgets;
    if ([b.tool_calls, b.wall_clock, b.tokens, b.usd].every((v) => v === undefined))
      add(
        'no_budgets',
        'medium',
        ['profiles', name],
        `profile ${name} has no budgets: a looping or hijacked agent runs until someone notices; set budgets.tool_calls and budgets.wall_clock at least`,
      );
    profile.egress.forEach((entry, i) => {
      const host = entry.slice(0, entry.lastIndexOf(':'));
      if (host.startsWith('*.') && broaderThanRegistrable(host.slice(2)))
        add(
          'broad_wildcard',
          'high',
          ['profiles', name, 'egress', i],
          `${entry} is broader than a registrable domain: ${host.slice(2)} is a public suffix, so anyone can register a host under it; name the domain (*.yourname.${host.slice(2)})`,
        );
    });
  }
  llmSettings(policy, add);
  sharedCredentials(policy, add);
  literalSecrets(text, add);
  return findings.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * A USD budget needs a price for every model it may be spent on (the proxy
 * refuses an unpriced model under a USD cap rather than charge it $0), and
 * every LLM side door a profile opens is reach outside its egress list.
 */
function llmSettings(policy: Policy, add: Add): void {
  for (const [name, profile] of Object.entries(policy.profiles)) {
    if (profile.budgets.usd !== undefined && policy.llm) {
      const prices = policy.llm.prices;
      const models = profile.llm.models;
      const unpriced = models?.filter((m) => !(m in prices)) ?? [];
      if (!models)
        add(
          'llm_unpriced_model',
          'medium',
          ['profiles', name, 'budgets', 'usd'],
          `profile ${name} has a USD budget but no llm.models list: requests for any model without an llm.prices entry are refused; list the models it may use, each with a price`,
        );
      else if (unpriced.length)
        add(
          'llm_unpriced_model',
          'high',
          ['profiles', name, 'llm', 'models'],
          `profile ${name} has a USD budget but ${unpriced.join(', ')} ${unpriced.length > 1 ? 'have' : 'has'} no price in llm.prices: every request for ${unpriced.length > 1 ? 'them' : 'it'} is refused; add a price`,
        );
    }
    const open = sideDoorsOpen(profile.llm);
    if (open.length)
      add(
        'llm_side_door',
        'medium',
        ['profiles', name, 'llm'],
        `profile ${name} lets the LLM API act outside its egress list and tool policy: ${open.join('; ')}; the API reaches these for the agent, unaudited by bulkhead, so keep the list to what the agent needs`,
      );
  }
}

type Add = (
  id: LintId,
  severity: LintFinding['severity'],
  path: (string | number)[],
  message: string,
) => void;

function profilesExposing(policy: Policy, exposed: string): string[] {
  return Object.entries(policy.profiles)
    .filter(([, p]) => p.tools.includes(exposed))
    .map(([n]) => n);
}

function ungatedTools(policy: Policy, add: Add): void {
  for (const [upstream, rules] of Object.entries(policy.tools)) {
    for (const [tool, rule] of Object.entries(rules)) {
      if (!rule.expose || rule.approval) continue;
      const profiles = profilesExposing(policy, exposedName(upstream, tool, rule));
      if (profiles.length === 0) continue;
      if (rule.class === 'irreversible') {
        add(
          'ungated_irreversible',
          'high',
          ['tools', upstream, tool],
          `irreversible tool ${upstream}.${tool} is exposed to ${profiles.join(', ')} without an approval gate: add approval (always, or a condition on its arguments)`,
        );
      } else if (rule.class === 'external') {
        // Flow rules hold an external call once the run read untrusted content, private data or
        // secrets; a profile whose rules let one of those through (for a class it can read) is open.
        const open = profiles.filter((p) => flowLeaks(policy, p).length > 0);
        if (open.length === 0) {
          add(
            'external_held_by_flow',
            'low',
            ['tools', upstream, tool],
            `external tool ${upstream}.${tool} has no approval of its own; the flow rules of ${profiles.join(', ')} hold it once a run has read untrusted content, private data or secrets, and a run that read none of those sends freely: mark private sources (sources: private) so they count`,
          );
          continue;
        }
        const leaks = open.map((p) => `${p} (${flowLeaks(policy, p).join(', ')})`);
        add(
          'ungated_external',
          'high',
          ['tools', upstream, tool],
          `external tool ${upstream}.${tool} is exposed without an approval gate, and the flow rules of ${leaks.join('; ')} let data out: add approval (when: tainted at least), set the flow rule to approve or refuse, or tighten where it can send`,
        );
      }
    }
  }
}

/** What a profile's flow rules let reach an external tool unchecked, among what the profile can read. */
function flowLeaks(policy: Policy, profileName: string): string[] {
  const profile = policy.profiles[profileName];
  if (!profile) return [];
  const classes = new Set<string>();
  for (const [upstream, rules] of Object.entries(policy.tools))
    for (const [tool, rule] of Object.entries(rules)) {
      if (!rule.expose || !profile.tools.includes(exposedName(upstream, tool, rule))) continue;
      const declared = rule.sources ?? policy.upstreams[upstream]?.sources;
      if (declared && declared !== 'public') classes.add(declared);
    }
  const leaks: string[] = [];
  if (profile.flow.tainted_external === 'allow') leaks.push('tainted_external: allow');
  if (classes.has('private') && profile.flow.private_external === 'allow')
    leaks.push('private_external: allow');
  if (classes.has('secret') && profile.flow.secret_external === 'allow') leaks.push('secret_external: allow');
  return leaks;
}

function coarseGating(policy: Policy, add: Add): void {
  const alwaysGated = new Set<string>();
  for (const [upstream, rules] of Object.entries(policy.tools))
    for (const [tool, rule] of Object.entries(rules))
      if (rule.expose && rule.approval?.when === 'always') alwaysGated.add(exposedName(upstream, tool, rule));
  for (const [name, profile] of Object.entries(policy.profiles)) {
    // Conditional gates (tainted, or on argument values) are the narrow design this check asks for.
    const gated = profile.tools.filter((t) => alwaysGated.has(t));
    if (profile.tools.length > 0 && gated.length / profile.tools.length > COARSE_GATING_SHARE)
      add(
        'coarse_gating',
        'medium',
        ['profiles', name, 'tools'],
        `${gated.length} of ${profile.tools.length} tools of profile ${name} always need approval (${gated.join(', ')}): the tools are too coarse and approvers will rubber-stamp; split them into narrow tools, or gate on argument conditions`,
      );
  }
}

function sharedCredentials(policy: Policy, add: Add): void {
  const users = new Map<string, { upstream: string; path: (string | number)[] }[]>();
  for (const [name, up] of Object.entries(policy.upstreams)) {
    const field = 'command' in up ? 'env' : 'headers';
    const values = 'command' in up ? up.env : up.headers;
    for (const [key, value] of Object.entries(values)) {
      if (typeof value === 'string') continue;
      const id = 'secret' in value ? `secret ${value.secret}` : `file ${value.file}`;
      users.set(id, [...(users.get(id) ?? []), { upstream: name, path: ['upstreams', name, field, key] }]);
    }
  }
  for (const [id, uses] of users) {
    const upstreams = [...new Set(uses.map((u) => u.upstream))];
    if (upstreams.length < 2) continue;
    // Reported at every use after the first: each is a line someone must change.
    for (const use of uses.filter((u) => u.upstream !== upstreams[0]))
      add(
        'shared_credential',
        'medium',
        use.path,
        `${id} is shared by upstreams ${upstreams.join(', ')}: a leak or misuse through one reaches all; give each upstream its own least-privilege credential`,
      );
  }
}

export function broaderThanRegistrable(domain: string): boolean {
  const parsed = parseHost(domain, { allowPrivateDomains: true });
  return parsed.domain === null || parsed.publicSuffix === domain;
}

/** Prefixes of credentials issued by well-known services. */
const KNOWN_PREFIX =
  /^(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|glpat-[\w-]{16,}|sk-ant-[\w-]{16,}|sk-(proj-)?[A-Za-z0-9_-]{20,}|(sk|rk|pk)_(live|test)_[A-Za-z0-9]{16,}|xox[abposr]-[\w-]{10,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[\w-]{30,}|npm_[A-Za-z0-9]{30,}|SG\.[\w-]{16,}\.[\w-]{16,}|eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]+|-----BEGIN [A-Z ]*PRIVATE KEY-----)/;
const BEARER = /^(Bearer|Basic|token)\s+\S{12,}$/i;
/** A password inside a URL: scheme://user:password@host. */
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]{3,}@/i;
const SECRET_KEY_NAME =
  /(secret|token|passw(or)?d|passwd|api[_-]?key|auth|credential|private[_-]?key|signing)/i;
/** Keys whose values are patterns, prose or program names, never credentials. */
const NOT_SECRET_KEYS = new Set(['description', 'pattern', 'matches', 'command', 'title', 'rename']);

/** Shannon entropy in bits per character. */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Why a literal value looks like a credential, or null. Deliberately simple: prefixes, then entropy. */
export function looksLikeCredential(key: string, value: string): string | null {
  const v = value.trim();
  if (KNOWN_PREFIX.test(v)) return 'it has the prefix of a well-known credential';
  if (BEARER.test(v)) return 'it is an Authorization value';
  if (URL_PASSWORD.test(v)) return 'it is a URL with a password in it';
  const token = /^[A-Za-z0-9+/=_.~-]+$/.test(v);
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((r) => r.test(v)).length;
  if (token && v.length >= 16 && classes >= 2 && entropy(v) >= 3.5) {
    if (SECRET_KEY_NAME.test(key))
      return `it is random-looking (${entropy(v).toFixed(1)} bits/char) under ${key}`;
    if (v.length >= 32 && classes === 3 && entropy(v) >= 4.2)
      return `it is a long random-looking string (${entropy(v).toFixed(1)} bits/char)`;
  }
  if (SECRET_KEY_NAME.test(key) && v.length >= 8 && !/\s/.test(v) && !/^(\$\{|<|changeme$)/i.test(v))
    return `${key} holds a literal value`;
  return null;
}

/**
 * Literal credentials anywhere in the file (upstream env and headers, notifier
 * URLs, operator tokens, args): a committed policy must hold references
 * ({ secret: NAME } or { file: PATH }) only.
 */
function literalSecrets(text: string, add: Add): void {
  const walk = (value: unknown, path: (string | number)[]) => {
    if (typeof value === 'string') {
      const key = String(path[path.length - 1] ?? '');
      const parentKey = String(path[path.length - 2] ?? '');
      if (NOT_SECRET_KEYS.has(key) || key === 'secret' || key === 'file') return;
      // In a list (args), the name of the value is the list's key.
      const named = typeof path[path.length - 1] === 'number' ? parentKey : key;
      // `--token=VALUE` in args: the flag names the value.
      const flag = /^-{0,2}([A-Za-z_][\w-]*)=(\S+)$/.exec(value);
      const why =
        looksLikeCredential(named, value) ??
        (flag ? looksLikeCredential(flag[1] ?? '', flag[2] ?? '') : null);
      if (why)
        add(
          'literal_secret',
          'high',
          path,
          `a literal credential in the policy (${why}): move it to the environment and write { secret: NAME }, or to a file and write { file: PATH }; then rotate it`,
        );
      return;
    }
    if (Array.isArray(value)) {
      for (const [i, child] of value.entries()) walk(child, [...path, i]);
    } else if (value && typeof value === 'object')
      for (const [k, child] of Object.entries(value)) walk(child, [...path, k]);
  };
  walk(parseDocument(text).toJS(), []);
}
