/**
 * The egress allow decision, pure and unit-tested alone. A destination is
 * allowed only if host AND port match an entry of the profile's egress list:
 * an exact name, or `*.example.com` (which never matches the apex). IP
 * literals pass only when listed as such, and a name that resolves to a
 * private, loopback, link-local, CGNAT or metadata address is refused unless
 * that very address is listed: this stops an allowed name from being pointed
 * at the host's internal services (DNS rebinding, SSRF to 169.254.169.254).
 *
 * A wildcard lets the jail choose the name the proxy looks up, and a lookup carries that name to
 * the domain's name servers whether or not anything answers: `<base32 of a secret>.example.com` is
 * exfiltration by DNS. So under a wildcard a name must look like a host name (`wildcardRefusal`:
 * at most 3 labels of at most 30 characters under it, none of 12 or more that looks like encoded
 * data), and the proxy looks up at most WILDCARD_NAMES distinct names per wildcard entry
 * (`WildcardBudget`). A name the list refuses is never looked up at all.
 */
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

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
    if (rule.wildcard ? host.endsWith(`.${rule.host}`) : host === rule.host) {
      const refusal = rule.wildcard ? wildcardRefusal(host.slice(0, -rule.host.length - 1)) : undefined;
      return refusal ? { action: 'deny', reason: refusal } : { action: 'allow', entry: rule.entry };
    }
  }
  if (literal) return { action: 'deny', reason: 'IP address not on the egress list' };
  const sameHost = rules.some((r) => (r.wildcard ? host.endsWith(`.${r.host}`) : host === r.host));
  return {
    action: 'deny',
    reason: sameHost ? 'port not on the egress list for this host' : 'host not on the egress list',
  };
}

/** Labels a wildcard may add in front of its domain, and the longest of each. */
const WILDCARD_LABELS = 3;
const WILDCARD_LABEL_LENGTH = 30;
/** Distinct names one proxy looks up under one wildcard entry. */
export const WILDCARD_NAMES = 16;

/** Why the part a wildcard matched (`raw` of raw.example.com) is refused, or undefined. */
export function wildcardRefusal(under: string): string | undefined {
  const labels = under.split('.');
  if (labels.length > WILDCARD_LABELS)
    return `more than ${WILDCARD_LABELS} labels under a wildcard (data in DNS names)`;
  for (const label of labels) {
    if (label.length > WILDCARD_LABEL_LENGTH)
      return `a label over ${WILDCARD_LABEL_LENGTH} characters under a wildcard (data in DNS names)`;
    if (looksEncoded(label)) return `a label under a wildcard that looks like encoded data (${label})`;
  }
  return undefined;
}

/**
 * Hex, base32 or base64-ish rather than words: 12 characters or more with 3 digits or more among
 * letters, all hex with a digit, or letters with fewer than one vowel in five.
 */
function looksEncoded(label: string): boolean {
  if (label.length < 12) return false;
  const digits = label.replace(/[^0-9]/g, '').length;
  const letters = label.replace(/[^a-z]/g, '');
  if (digits >= 3 && letters.length > 0) return true;
  if (/^[0-9a-f]+$/.test(label) && digits > 0) return true;
  const vowels = letters.replace(/[^aeiouy]/g, '').length;
  return letters.length >= 12 && vowels * 5 < letters.length;
}

/** The distinct names looked up under each wildcard entry, refusing new ones past WILDCARD_NAMES. */
export class WildcardBudget {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly rules: readonly EgressRule[]) {}

  /** Why `host`, allowed by `entry`, may not be looked up, or undefined (and counts it). */
  take(entry: string, host: string): string | undefined {
    if (!this.rules.some((r) => r.entry === entry && r.wildcard)) return undefined;
    const name = normalizeHost(host);
    const names = this.seen.get(entry) ?? new Set<string>();
    this.seen.set(entry, names);
    if (names.has(name)) return undefined;
    if (names.size >= WILDCARD_NAMES)
      return `more than ${WILDCARD_NAMES} names under ${entry} in this run (data in DNS names)`;
    names.add(name);
    return undefined;
  }
}

/**
 * Step 2, after the proxy resolved the name itself: refuse internal addresses unless listed as
 * literals. `own` is the proxy host's own addresses: a name pointed at the host's public address
 * reaches every host service listening on all interfaces, as loopback would.
 */
export function decideAddress(
  address: string,
  port: number,
  rules: readonly EgressRule[],
  own: ReadonlySet<string> = ownAddresses(),
): EgressDecision {
  if (!isInternalAddress(address) && !own.has(canonicalAddress(address)))
    return { action: 'allow', entry: address };
  const listed = rules.find(
    (r) => !r.wildcard && r.port === port && normalizeHost(r.host) === normalizeHost(address),
  );
  return listed
    ? { action: 'allow', entry: listed.entry }
    : { action: 'deny', reason: `resolves to an internal address (${address})` };
}

/** The addresses of this host's interfaces, canonical (read at each decision: they change). */
export function ownAddresses(): Set<string> {
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces()))
    for (const entry of list ?? []) own.add(canonicalAddress(entry.address));
  return own;
}

/** One spelling per address: IPv6 compressed and lower case without a zone, IPv4-mapped as IPv4. */
function canonicalAddress(address: string): string {
  const ip = normalizeHost(address).replace(/%.*$/, '');
  if (isIP(ip) !== 6) return ip;
  let href: string;
  try {
    href = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(href);
  if (!mapped) return href;
  const [high, low] = [Number.parseInt(mapped[1] ?? '0', 16), Number.parseInt(mapped[2] ?? '0', 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
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
  ['168.63.129.16', 32], // Azure's platform endpoint (WireServer, DNS) for its VMs, at a public address
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
  ['::ffff:0:0:0', 96], // IPv4-translated (SIIT)
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48], // local NAT64
  ['100::', 64], // discard
  ['100:0:0:1::', 64], // dummy prefix
  ['2001::', 32], // Teredo (embeds an IPv4 address)
  ['2001:10::', 28], // ORCHID
  ['2001:20::', 28], // ORCHIDv2
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['3fff::', 20], // documentation
  ['5f00::', 16], // SRv6 segment identifiers
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
