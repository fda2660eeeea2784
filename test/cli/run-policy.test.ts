/**
 * `bulkhead run`'s remembered reading of a policy (src/cli/run-policy.ts): it
 * must never hand a run anything but what parsing the file as it is now would,
 * and nobody but the user (least of all a jailed agent) may plant an entry.
 */
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRunPolicy, STALE_MS } from '../../src/cli/run-policy.js';
import { checkRunWorkdir } from '../../src/sandbox/cli-support.js';
import { tempDir } from '../helpers/harness.js';

const POLICY = (egress: string) =>
  `version: 1\nstore: { sqlite: ./audit.db }\nupstreams: {}\nprofiles:\n  coder:\n    tools: []\n    egress: [${egress}]\n    sandbox: { memory: 256M, weaker_limits: true }\n`;

describe('bulkhead run reads a policy through a cache only its own build trusts', () => {
  let dir: string;
  let cacheDir: string;
  let file: string;
  const onlyEntry = () => join(cacheDir, readdirSync(cacheDir)[0] as string);

  beforeEach(() => {
    dir = tempDir('bulkhead-run-policy-');
    cacheDir = join(tempDir('bulkhead-home-'), 'cache');
    file = join(dir, 'policy.yaml');
    writeFileSync(file, POLICY('api.example.com:443'));
  });
  afterEach(() => {
    delete process.env.BULKHEAD_HOME;
  });

  it('gives the profile, the store and the paths the run needs, the same on a miss and a hit', async () => {
    const first = await loadRunPolicy(file, { build: 'b1', cacheDir });
    expect(first.file).toBe(file);
    expect(first.dir).toBe(dir);
    expect(first.sqlite).toBe('./audit.db');
    expect(first.llm).toBe(false);
    expect(first.profiles.coder?.egress).toEqual(['api.example.com:443']);
    expect(first.profiles.coder?.sandbox.memory).toBe(256 * 1024 ** 2);
    expect(statSync(onlyEntry()).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(await loadRunPolicy(file, { build: 'b1', cacheDir })).toEqual(first);
  });

  it('serves the entry only for the same build and the very same text', async () => {
    await loadRunPolicy(file, { build: 'b1', cacheDir });
    // Mark the entry, so that a hit is told apart from a parse.
    const entry = JSON.parse(readFileSync(onlyEntry(), 'utf8'));
    entry.policy.profiles.coder.egress = ['marked.example:443'];
    writeFileSync(onlyEntry(), JSON.stringify(entry), { mode: 0o600 });
    expect((await loadRunPolicy(file, { build: 'b1', cacheDir })).profiles.coder?.egress).toEqual([
      'marked.example:443',
    ]);
    // Another build parses again (its schema may read the file differently).
    expect((await loadRunPolicy(file, { build: 'b2', cacheDir })).profiles.coder?.egress).toEqual([
      'api.example.com:443',
    ]);
    // An edit of one character parses again.
    writeFileSync(file, POLICY('api.example.com:444'));
    expect((await loadRunPolicy(file, { build: 'b2', cacheDir })).profiles.coder?.egress).toEqual([
      'api.example.com:444',
    ]);
  });

  it('keeps an entry per build: two builds reading one policy in turn both hit', async () => {
    await loadRunPolicy(file, { build: 'b1', cacheDir });
    const entry = JSON.parse(readFileSync(onlyEntry(), 'utf8'));
    entry.policy.profiles.coder.egress = ['marked.example:443'];
    writeFileSync(onlyEntry(), JSON.stringify(entry), { mode: 0o600 });
    await loadRunPolicy(file, { build: 'b2', cacheDir });
    expect((await loadRunPolicy(file, { build: 'b1', cacheDir })).profiles.coder?.egress).toEqual([
      'marked.example:443',
    ]);
    expect(readdirSync(cacheDir)).toHaveLength(2);
  });

  it("removes other builds' entries once stale, when it writes one", async () => {
    await loadRunPolicy(file, { build: 'b1', cacheDir });
    const old = onlyEntry();
    const before = new Date(Date.now() - STALE_MS - 60_000);
    utimesSync(old, before, before);
    await loadRunPolicy(file, { build: 'b2', cacheDir });
    expect(existsSync(old)).toBe(false);
    expect(readdirSync(cacheDir)).toHaveLength(1);
  });

  it('ignores an entry that others may write', async () => {
    await loadRunPolicy(file, { build: 'b1', cacheDir });
    const entry = JSON.parse(readFileSync(onlyEntry(), 'utf8'));
    entry.policy.profiles.coder.egress = ['*:443'];
    writeFileSync(onlyEntry(), JSON.stringify(entry));
    chmodSync(onlyEntry(), 0o666);
    expect((await loadRunPolicy(file, { build: 'b1', cacheDir })).profiles.coder?.egress).toEqual([
      'api.example.com:443',
    ]);
  });

  it('caches nothing from the sources (no build id) and nothing for a policy the schema refuses', async () => {
    await loadRunPolicy(file, { build: undefined, cacheDir });
    expect(existsSync(cacheDir)).toBe(false);
    writeFileSync(file, 'version: 1\nprofiles:\n  coder: { sandbox: { memory: lots } }\n');
    await expect(loadRunPolicy(file, { build: 'b1', cacheDir })).rejects.toMatchObject({
      code: 'policy_invalid',
    });
    expect(existsSync(cacheDir) ? readdirSync(cacheDir) : []).toEqual([]);
  });

  it('says which file it cannot read', async () => {
    await expect(loadRunPolicy(join(dir, 'missing.yaml'), { build: 'b1', cacheDir })).rejects.toMatchObject({
      code: 'policy_unreadable',
    });
  });

  it('keeps the cache where no jail reaches it: a workdir holding the gateway home is refused', async () => {
    const home = tempDir('bulkhead-home-');
    process.env.BULKHEAD_HOME = join(home, '.bulkhead');
    await loadRunPolicy(file, { build: 'b1' });
    expect(readdirSync(join(home, '.bulkhead', 'cache'))).toHaveLength(1);
    for (const workdir of [home, join(home, '.bulkhead'), join(home, '.bulkhead', 'cache')])
      expect(() => checkRunWorkdir(workdir, [])).toThrow(/gateway home/);
  });
});
