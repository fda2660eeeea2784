/**
 * The egress allow decision, pure and unit-tested alone. A destination is
 * allowed only if host AND port match an entry of the profile's egress list:
 * an exact name, or `*.example.com` (which never matches the apex). IP
 * literals pass only when listed as such, and a name that resolves to a
 * private, loopback, link-local, CGNAT or metadata address is refused unless
 * that very address is listed: this stops an allowed name from being pointed
 * at the host's internal services (DNS rebinding, SSRF to 169.254.169.254).
 */
import { isIP } from 'node:net';

export type EgressDecision = { action: 'allow'; entry: string } | { action: 'deny'; reason: string };

interface Rule {
  entry: string;
  host: string;
  wildcard: boolean;
  port: number;
}

export function parseEgress(entries: readonly string[]): Rule[] {
  return entries.map((entry) => {
    const at = entry.lastIndexOf(':');
    const host = entry.slice(0, at).toLowerCase();
    return {
      entry,
      host: host.startsWith('*.') ? host.slice(2) : host,
      wildcard: host.startsWith('*.'),
      port: Number(entry.slice(at + 1)),
    };
  });
}

function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** Step 1, before any lookup: is this name (or literal) and port on the list at all? */
export function decideName(rawHost: string, port: number, rules: readonly Rule[]): EgressDecision {
  const host = normalizeHost(rawHost);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535)
    return { action: 'deny', reason: 'malformed destination' };
  const literal = isIP(host) !== 0;
  for (const rule of rules) {
    if (rule.port !== port) continue;
    if (literal) {
      if (!rule.wildcard && rule.host === host) return { action: 'allow', entry: rule.entry };
      continue;
    }
    if (rule.wildcard ? host.endsWith(`.${rule.host}`) : host === rule.host)
      return { action: 'allow', entry: rule.entry };
  }
  if (literal) return { action: 'deny', reason: 'IP address not on the egress list' };
  const sameHost = rules.some((r) => (r.wildcard ? host.endsWith(`.${r.host}`) : host === r.host));
  return {
    action: 'deny',
    reason: sameHost ? 'port not on the egress list for this host' : 'host not on the egress list',
  };
}

/** Step 2, after the proxy resolved the name itself: refuse internal addresses unless listed as literals. */
export function decideAddress(address: string, port: number, rules: readonly Rule[]): EgressDecision {
  if (!isInternalAddress(address)) return { action: 'allow', entry: address };
  const listed = rules.find(
    (r) => !r.wildcard && r.port === port && normalizeHost(r.host) === normalizeHost(address),
  );
  return listed
    ? { action: 'allow', entry: listed.entry }
    : { action: 'deny', reason: `resolves to an internal address (${address})` };
}

export function isInternalAddress(address: string): boolean {
  const ip = normalizeHost(address);
  const v = isIP(ip);
  if (v === 4) return internalV4(ip);
  if (v === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
    if (mapped) return internalV4(mapped[1] as string);
    if (ip === '::' || ip === '::1') return true;
    const first = Number.parseInt(ip.split(':')[0] || '0', 16);
    // fc00::/7 unique local, fe80::/10 link-local, ff00::/8 multicast, 64:ff9b:1::/48 local NAT64
    return (
      (first & 0xfe00) === 0xfc00 ||
      (first & 0xffc0) === 0xfe80 ||
      (first & 0xff00) === 0xff00 ||
      ip.startsWith('64:ff9b:1:')
    );
  }
  return true; // not an address at all: refuse
}

function internalV4(ip: string): boolean {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}
