import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  decideAddress,
  decideName,
  isInternalAddress,
  ownAddresses,
  parseEgress,
  WildcardBudget,
  wildcardRefusal,
} from './egress-policy.js';

const rules = parseEgress(['api.example.com:443', '*.github.com:443', '10.1.2.3:8080']);

describe('egress decision by name', () => {
  it('allows an exact name on its port', () => {
    expect(decideName('api.example.com', 443, rules).action).toBe('allow');
  });
  it('ignores case and a trailing dot', () => {
    expect(decideName('API.Example.COM.', 443, rules).action).toBe('allow');
  });
  it('refuses the right host on another port', () => {
    expect(decideName('api.example.com', 80, rules)).toEqual({
      action: 'deny',
      reason: 'port not on the egress list for this host',
    });
  });
  it('matches a wildcard on subdomains but never the apex', () => {
    expect(decideName('raw.github.com', 443, rules).action).toBe('allow');
    expect(decideName('github.com', 443, rules).action).toBe('deny');
  });
  it('does not let a suffix trick match a wildcard', () => {
    expect(decideName('evilgithub.com', 443, rules).action).toBe('deny');
    expect(decideName('github.com.evil.net', 443, rules).action).toBe('deny');
  });
  it('refuses IP literals unless listed exactly', () => {
    expect(decideName('93.184.216.34', 443, rules).action).toBe('deny');
    expect(decideName('10.1.2.3', 8080, rules).action).toBe('allow');
  });
  it('refuses malformed ports', () => {
    expect(decideName('api.example.com', 0, rules).action).toBe('deny');
    expect(decideName('api.example.com', 70000, rules).action).toBe('deny');
  });
});

describe('egress decision by resolved address', () => {
  const internal = [
    '127.0.0.1',
    '10.0.0.5',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    // Beyond the private ranges: a platform service at a public address, and IPv6 forms that
    // embed an IPv4 address or are not routed.
    '168.63.129.16',
    '::ffff:0:a9fe:a9fe',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '2001:10::1',
    '2001:20::1',
    '3fff::1',
    '5f00::1',
    '100:0:0:1::1',
  ];
  for (const address of internal) {
    it(`treats ${address} as internal`, () => {
      expect(isInternalAddress(address)).toBe(true);
      expect(decideAddress(address, 443, rules).action).toBe('deny');
    });
  }
  it('allows a public address', () => {
    expect(decideAddress('93.184.216.34', 443, rules).action).toBe('allow');
    expect(isInternalAddress('2606:2800:220:1::1')).toBe(false);
  });
  it("refuses the proxy host's own addresses, however an IPv6 or mapped one is written", () => {
    // A name pointed at the host's public address reaches whatever listens on all its interfaces.
    const own = new Set(['198.51.99.7', '2a01:4f8:1:2::5']);
    for (const address of ['198.51.99.7', '::ffff:198.51.99.7', '::ffff:c633:6307', '2A01:04F8:1:2:0:0:0:5'])
      expect(decideAddress(address, 443, rules, own).action, address).toBe('deny');
    expect(decideAddress('198.51.99.8', 443, rules, own).action).toBe('allow');
  });
  it('counts the addresses of this host as its own', () => {
    const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
    for (const entry of all)
      expect(ownAddresses().has(entry.address.replace(/%.*$/, '')), entry.address).toBe(true);
  });
  it('allows an internal address that is listed as a literal', () => {
    expect(decideAddress('10.1.2.3', 8080, rules).action).toBe('allow');
  });
});

describe('names under a wildcard (DNS exfiltration)', () => {
  it('takes host-like names', () => {
    for (const under of ['raw', 'objects', 'pkg-containers', 'my-bucket.s3.us-east-1', 'api2', 'eu-west-1'])
      expect(wildcardRefusal(under)).toBeUndefined();
  });
  it('refuses a label too long to be a host name', () => {
    expect(wildcardRefusal('a'.repeat(31))).toMatch(/over 30 characters/);
  });
  it('refuses labels that look encoded (base32, hex, base64-ish)', () => {
    for (const label of ['mfrggzdfmztwq2', 'deadbeef0123', 'nbswy3dpeb3w64tm', 'qxz9k2m4p7xx'])
      expect(wildcardRefusal(label)).toMatch(/encoded data/);
  });
  it('refuses more than three labels under the wildcard', () => {
    expect(wildcardRefusal('a.b.c.d')).toMatch(/more than 3 labels/);
  });
  it('lets a run look up 16 distinct names under one wildcard, repeats free', () => {
    const budget = new WildcardBudget(rules);
    for (let i = 0; i < 16; i++) expect(budget.take('*.github.com:443', `n${i}.github.com`)).toBeUndefined();
    expect(budget.take('*.github.com:443', 'n3.github.com')).toBeUndefined();
    expect(budget.take('*.github.com:443', 'more.github.com')).toMatch(/more than 16 names/);
    expect(budget.take('api.example.com:443', 'api.example.com')).toBeUndefined();
  });
});
