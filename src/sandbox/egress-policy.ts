/**
 * The egress allow decision, pure and unit-tested alone. A destination is
 * allowed only if host AND port match an entry of the profile's egress list:
 * an exact name, or `*.example.com` (which never matches the apex). IP
 * literals pass only when listed as such, and a name that resolves to a
 * private, loopback, link-local, CGNAT or metadata address is refused unless
 * that very address is listed: this stops an allowed name from being pointed
 * at the host's internal services (DNS rebinding, SSRF to 169.254.169.254).
 */
import { BlockList, isIP } from 'node:net';

export type EgressDecision = { action: 'allow'; entry: string } | { action: 'deny'; reason: string };

export interface EgressRule {
  entry: string;
  host: string;
  wildcard: boolean;
  port: number;
}

export function parseEgress(entries: readonly string[]): EgressRule[] {
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
export function decideName(rawHost: string, port: number, rules: readonly EgressRule[]): EgressDecision {
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
export function decideAddress(address: string, port: number, rules: readonly EgressRule[]): EgressDecision {
  if (!isInternalAddress(address)) return { action: 'allow', entry: address };
  const listed = rules.find(
    (r) => !r.wildcard && r.port === port && normalizeHost(r.host) === normalizeHost(address),
  );
  return listed
    ? { action: 'allow', entry: listed.entry }
    : { action: 'deny', reason: `resolves to an internal address (${address})` };
}

/**
 * Addresses that are not "the internet": loopback, private, CGNAT, link-local (which holds the cloud
 * metadata service at 169.254.169.254), documentation, benchmark, multicast and reserved ranges, and
 * their IPv6 counterparts. An allowed name resolving into one of them is how SSRF reaches the host's
 * neighbours. IPv4-mapped IPv6 forms (::ffff:127.0.0.1, ::ffff:7f00:1) match the IPv4 ranges.
 * Translation prefixes (NAT64, 6to4, IPv4-compatible) can embed any IPv4 address, so they are refused
 * as a whole rather than decoded.
 */
const INTERNAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  INTERNAL.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 96], // unspecified, loopback and IPv4-compatible
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48], // local NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local
  ['ff00::', 8], // multicast
] as const)
  INTERNAL.addSubnet(net, bits, 'ipv6');

export function isInternalAddress(address: string): boolean {
  const ip = normalizeHost(address);
  const v = isIP(ip);
  if (v === 4) return INTERNAL.check(ip, 'ipv4');
  if (v === 6) return INTERNAL.check(ip, 'ipv6');
  return true; // not an address at all: refuse
}
