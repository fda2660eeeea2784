import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLimiter } from './cgroup.js';
import { jailIdentity } from './identity.js';
import { type LaunchSpec, launch, prepareLaunch } from './launch.js';

// Stands in for egress-listen.pl: tells node, over the channel it was given, who and where it is.
const REPORTER = `
opendir(my $d, '/proc/self/fd'); my @fds = sort { $a <=> $b } grep { /^\\d+$/ } readdir $d;
open(my $c, '<', '/proc/self/cgroup'); my $cg = join('', <$c>); $cg =~ s/\\n/|/g; $cg =~ s/"//g;
open(my $ch, '+<&=', $ENV{NODE_CHANNEL_FD}) or die;
syswrite($ch, qq({"uid":$<,"fds":"@fds","cgroup":"$cg","args":"@ARGV"}\\n));
`;

const root = process.getuid?.() === 0;

describe.each(['perl', 'bash'] as const)('the launcher through %s', (via) => {
  it.skipIf(!root)(
    "starts the egress listener's helper as root, outside the jail's cgroup, with node's channel and none of bwrap's descriptors",
    async () => {
      const script = join(mkdtempSync(join(tmpdir(), 'bulkhead-launch-')), 'reporter.pl');
      writeFileSync(script, REPORTER);
      const limiter = createLimiter(`launch-${process.pid}`, { memoryBytes: 64 << 20, pids: 16, cpu: 1 });
      try {
        const child = launch({
          identity: jailIdentity(),
          joinFiles: limiter.joinFiles,
          prlimitArgs: [],
          bwrapArgv: ['--ro-bind', '/', '/', '/bin/true'],
          stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'ignore', 'pipe', 'pipe', 'pipe'],
          listener: { script, args: ['7301', '1', '2'] },
          via,
        });
        const exited = once(child, 'exit');
        let said = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          said += chunk.toString('utf8');
        });
        const report = await new Promise<{ uid: number; fds: string; cgroup: string; args: string }>(
          (ok, fail) => {
            child.once('message', ok);
            child.once('disconnect', () => setImmediate(() => fail(new Error(`no report: ${said}`))));
          },
        );
        expect(report.uid).toBe(0);
        expect(report.args).toBe('7301 1 2');
        // 0-2, the channel (8), and the directory this listing reads: nothing of 3-7.
        expect(report.fds.split(' ').filter((fd) => !['0', '1', '2', '8'].includes(fd))).toHaveLength(1);
        expect(report.cgroup).not.toContain(`launch-${process.pid}`);
        await exited;
      } finally {
        await limiter.killAll();
        await limiter.remove();
      }
    },
  );
});

/** What a process was started with, as the kernel has it: the parts a launcher decides. */
function credentialsOf(pid: number): Record<string, string> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  const names = [
    'Uid',
    'Gid',
    'Groups',
    'CapInh',
    'CapPrm',
    'CapEff',
    'CapBnd',
    'CapAmb',
    'NoNewPrivs',
    'Seccomp',
  ];
  return {
    ...Object.fromEntries(names.map((name) => [name, field(name)])),
    cgroup: readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
  };
}

/**
 * Starts bwrap through the launcher `via`, and reads what bwrap was started with (its credentials
 * and cgroups, which it keeps), and the descriptors that reach the jailed command (bwrap, given
 * none of 3-7 to use here, passes on what it got; it opens and closes its own as it goes).
 */
async function bwrapStartedBy(via: 'perl' | 'bash' | 'prepared', limiter: ReturnType<typeof createLimiter>) {
  const script = join(mkdtempSync(join(tmpdir(), 'bulkhead-launch-')), 'helper.pl');
  // The helper's stand-in: it waits for its message (the channel's end, here) and exits.
  writeFileSync(script, 'open(my $c, "+<&=", $ENV{NODE_CHANNEL_FD}) or die; sysread($c, my $x, 1);');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, for sh to expand
  const listing = 'sleep 0.5; for f in /proc/self/fd/*; do echo "${f##*/} $(readlink "$f")"; done';
  const spec: LaunchSpec = {
    identity: jailIdentity(),
    joinFiles: limiter.joinFiles,
    prlimitArgs: [],
    bwrapArgv: [
      '--unshare-all',
      '--ro-bind',
      '/',
      '/',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '/bin/sh',
      '-c',
      listing,
    ],
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'ignore', 'pipe', 'pipe', 'pipe'],
    listener: { script, args: [] },
    ...(via === 'prepared' ? {} : { via }),
  };
  const child = via === 'prepared' ? startPrepared(spec) : launch(spec);
  const exited = once(child, 'exit');
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  const pid = child.pid as number;
  for (let waited = 0; readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'bwrap'; waited += 2) {
    if (waited > 10_000) throw new Error(`the ${via} launcher never became bwrap`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const started = credentialsOf(pid);
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  if (child.connected) child.disconnect();
  const [code] = await exited;
  const fds = out.replace(/\d{3,}/g, 'N').trim();
  return { started, environ, fds, code };
}

/** The same chain through a launcher prepared ahead (stdio 0-2 as `spec` has them), started at once. */
function startPrepared(spec: LaunchSpec) {
  const [stdin, stdout, stderr] = spec.stdio;
  const prepared = prepareLaunch({
    identity: spec.identity,
    stdio: [stdin, stdout, stderr],
    listener: spec.listener as NonNullable<LaunchSpec['listener']>,
    seccomp: undefined,
  });
  if (!prepared) throw new Error('no prepared launcher on this machine');
  return prepared.start({
    joinFiles: spec.joinFiles,
    prlimitArgs: spec.prlimitArgs,
    bwrapArgv: spec.bwrapArgv,
  });
}

describe.skipIf(!root)('the perl launcher against bash and setpriv', () => {
  it('starts bwrap with the same identity, groups, capabilities and cgroups, and passes the same descriptors', async () => {
    const limiter = createLimiter(`launch-eq-${process.pid}`, { memoryBytes: 64 << 20, pids: 16, cpu: 1 });
    try {
      const perl = await bwrapStartedBy('perl', limiter);
      const bash = await bwrapStartedBy('bash', limiter);
      const prepared = await bwrapStartedBy('prepared', limiter);
      expect([perl.code, bash.code, prepared.code]).toEqual([0, 0, 0]);
      // bwrap sets no_new_privs itself soon after its start, so a reading may come before or after
      // it (a launcher already running execs bwrap at once, and a loaded machine delays any): that
      // one field is bwrap's, not the launcher's, and is left out of the comparisons.
      const launched = (started: Record<string, string>) => ({ ...started, NoNewPrivs: '' });
      expect(launched(perl.started)).toEqual(launched(bash.started));
      expect(perl.fds).toEqual(bash.fds);
      // Prepared ahead and told its chain later: bwrap started just the same, and given no seccomp
      // program here, its fd 4 (the program's pipe) closed as in the others.
      expect(launched(prepared.started)).toEqual(launched(perl.started));
      expect(prepared.environ).toEqual(perl.environ);
      expect(prepared.fds).toEqual(perl.fds);
      expect(perl.started.Uid).toBe('1950000000\t1950000000\t1950000000\t1950000000');
      expect(perl.started.Groups).toBe('');
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) expect(perl.started[set]).toMatch(/^0+$/);
      expect(perl.started.cgroup).toContain(`launch-eq-${process.pid}`);
      // stdio and 3, 5-7 (bwrap's status, the staging pipes), as given; nothing else but the
      // folder the listing read (the lowest free, 4, closed by the time it is named).
      const given = perl.fds.split('\n').filter((line) => line !== '4 ');
      expect(given.map((line) => line.split(' ')[0])).toEqual(['0', '1', '2', '3', '5', '6', '7']);
      // Nothing but PATH: none of the launcher's own variables (the channel, the cgroup files).
      expect(perl.environ).toEqual(['PATH=/usr/bin:/bin:/usr/sbin:/sbin']);
      expect(bash.environ.filter((v) => v.startsWith('BULKHEAD_') || v.startsWith('NODE_'))).toEqual([]);
    } finally {
      await limiter.killAll();
      await limiter.remove();
    }
  });

  it('a prepared launcher that is cancelled exits 0 having started nothing, its helper never forked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-launch-'));
    const script = join(dir, 'helper.pl');
    const mark = join(dir, 'helper-ran');
    writeFileSync(script, `open(my $f, '>', '${mark}'); close $f;`);
    const prepared = prepareLaunch({
      identity: jailIdentity(),
      stdio: 'ignore',
      listener: { script, args: [] },
      seccomp: undefined,
    });
    if (!prepared) throw new Error('no prepared launcher on this machine');
    const exited = once(prepared.child, 'exit');
    prepared.cancel();
    const [code] = await exited;
    expect(code).toBe(0);
    expect(existsSync(mark)).toBe(false);
  });

  it('a prepared launcher given its chain joins the cgroup and drops to the jail identity before bwrap', async () => {
    const limiter = createLimiter(`launch-prep-${process.pid}`, { memoryBytes: 64 << 20, pids: 16, cpu: 1 });
    try {
      const prepared = prepareLaunch({
        identity: jailIdentity(),
        stdio: 'ignore',
        listener: { script: '/dev/null', args: [] },
        seccomp: undefined,
      });
      if (!prepared) throw new Error('no prepared launcher on this machine');
      // Told late, as startJail does once the jail is known.
      await new Promise((r) => setTimeout(r, 50));
      const child = prepared.start({
        joinFiles: ['/proc/version'],
        prlimitArgs: [],
        bwrapArgv: ['--ro-bind', '/', '/', '/bin/true'],
      });
      const [code] = await once(child, 'exit');
      expect(code).toBe(126);
    } finally {
      await limiter.killAll();
      await limiter.remove();
    }
  });

  it('never starts bwrap when a cgroup cannot be joined: exit 126, as bash', async () => {
    for (const via of ['perl', 'bash'] as const) {
      const child = launch({
        identity: jailIdentity(),
        joinFiles: ['/proc/version'],
        prlimitArgs: [],
        bwrapArgv: ['--ro-bind', '/', '/', '/bin/true'],
        stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'ignore', 'pipe', 'pipe', 'pipe'],
        listener: { script: '/dev/null', args: [] },
        via,
      });
      const [code] = await once(child, 'exit');
      expect([via, code]).toEqual([via, 126]);
    }
  });
});
