import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLimiter } from './cgroup.js';
import { jailIdentity } from './identity.js';
import { launch } from './launch.js';

// Stands in for egress-listen.pl: tells node, over the channel it was given, who and where it is.
const REPORTER = `
opendir(my $d, '/proc/self/fd'); my @fds = sort { $a <=> $b } grep { /^\\d+$/ } readdir $d;
open(my $c, '<', '/proc/self/cgroup'); my $cg = join('', <$c>); $cg =~ s/\\n/|/g; $cg =~ s/"//g;
open(my $ch, '+<&=', $ENV{NODE_CHANNEL_FD}) or die;
syswrite($ch, qq({"uid":$<,"fds":"@fds","cgroup":"$cg","args":"@ARGV"}\\n));
`;

describe('the launcher', () => {
  it.skipIf(process.getuid?.() !== 0)(
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
