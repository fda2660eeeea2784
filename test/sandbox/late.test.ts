/**
 * A jail built while its run is being created (`bulkhead run`): what only the
 * run knows (its variables, its MCP config, its expiry) reaches the agent
 * before it starts, exactly as given and never as shell code; the jail's own
 * settings cannot be replaced that way; and a run that cannot be created
 * tears the jail down before anything of the agent runs.
 */
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BulkheadError } from '../../src/errors.js';
import { startJail } from '../../src/sandbox/index.js';
import {
  goneWithin,
  hostProcesses,
  jailSpec,
  runInJail,
  skipWithoutSandbox,
  tempDir,
} from './jail-harness.js';

const skip = skipWithoutSandbox();

describe.skipIf(skip)('jail started before its run exists', () => {
  it('hands the agent the run variables and files once staged, and the run expiry as its wall clock', async () => {
    const { out, exit } = await runInJail(
      'echo "ID=$BULKHEAD_RUN_ID TOKEN=$BULKHEAD_TOKEN"; cat /run/bulkhead/late.json; echo; sleep 5',
      {
        late: Promise.resolve({
          env: { BULKHEAD_RUN_ID: 'run_late1', BULKHEAD_TOKEN: 'bhr_secret' },
          files: { 'late.json': '{"ok":true}' },
          timeoutMs: 800,
        }),
      },
    );
    expect(out).toContain('ID=run_late1 TOKEN=bhr_secret');
    expect(out).toContain('{"ok":true}');
    expect(exit.reason).toBe('timeout');
  });

  it('passes values verbatim: quotes, $(...), backticks and newlines are never run as shell code', async () => {
    const marker = `/tmp/bulkhead-late-pwned-${process.pid}`;
    const nasty = `a'b"c $(touch ${marker}) \`touch ${marker}\` '; touch ${marker}; echo '\nline2 \\ $HOME`;
    const { out } = await runInJail('printf "%s" "$NASTY"; echo; echo LISTING; ls -a /tmp', {
      late: Promise.resolve({ env: { NASTY: nasty } }),
    });
    expect(out.startsWith(nasty)).toBe(true);
    // The jail's /tmp (its own tmpfs, where the init would have run the touch) holds no marker.
    const listing = out.slice(out.indexOf('LISTING'));
    expect(listing).toContain('LISTING');
    expect(listing).not.toContain('bulkhead-late-pwned');
  });

  it('refuses to replace a variable the jail sets itself (PATH, the proxy, NODE_OPTIONS), before the agent runs', async () => {
    for (const name of ['PATH', 'HTTPS_PROXY', 'NODE_OPTIONS', 'bad-name']) {
      const marker = `bulkhead-late-refused-${process.pid}-${name}`;
      const spec = jailSpec(tempDir('bulkhead-wd-'), ['/bin/sh', '-c', `sleep 30; : ${marker}`], {
        late: Promise.resolve({ env: { [name]: '/tmp/evil' } }),
      });
      await expect(startJail(spec)).rejects.toThrow(/is not allowed/);
      // The root launcher's egress helper (a fork of it, outside the cgroup, its command line the
      // launcher's) exits when its channel closes, a moment after; the agent's `sleep 30` never ran.
      await goneWithin(marker, 2000);
      expect(hostProcesses(marker)).toEqual([]);
    }
  });

  it('tears the jail down, agent never started and cgroup removed, when the run cannot be created', async () => {
    const marker = `bulkhead-late-never-${process.pid}`;
    const spec = jailSpec(tempDir('bulkhead-wd-'), ['/bin/sh', '-c', `sleep 30; : ${marker}`], {
      late: new Promise((_, fail) =>
        setTimeout(() => fail(new BulkheadError('gateway_unreachable', 'no gateway answers')), 300),
      ),
    });
    await expect(startJail(spec)).rejects.toThrow(/no gateway answers/);
    await goneWithin(marker, 2000);
    expect(hostProcesses(marker)).toEqual([]);
    for (const parent of ['/sys/fs/cgroup/pids/bulkhead', '/sys/fs/cgroup/bulkhead'].filter(existsSync))
      expect(readdirSync(parent).filter((name) => name.startsWith(spec.runId))).toEqual([]);
  });

  it('reports a run refused before the workdir is staged as its own rejection, never an unhandled one', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const spec = jailSpec(tempDir('bulkhead-wd-'), ['/bin/true'], {
        late: Promise.reject(new BulkheadError('gateway_unreachable', 'refused at once')),
      });
      await expect(startJail(spec)).rejects.toThrow(/refused at once/);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
