/**
 * Runs whose launcher died unreported. `bulkhead run` records itself when it
 * creates a run (`launcher`: its host's boot, pid namespace, pid and start
 * time, `hostLauncherTag` in runtime-folder.ts) and reports the agent's end when it
 * exits; killed with SIGKILL (or by the OOM killer) it reports nothing, the
 * jail dies with it, and the run stayed active, its token valid and its
 * reservations held, until its wall clock ran out.
 *
 * The gateway kills such a run itself: at once when the launcher's kill
 * watcher (`GET /api/runs/:id/ended`) drops and the process is gone (looked
 * for over a few seconds: its exit may not be complete, and a zombie counts as
 * gone), and otherwise at the next sweep (every few seconds, and at start, so
 * a launcher that died while the gateway was down is found too). Only what
 * this gateway can see counts: a launcher on another host (or boot), or in
 * another pid namespace, is never judged gone, so no run ends on a dropped
 * connection alone, and a replica beside the launcher finds it whichever
 * replica it polled.
 */
import { hostLauncherGone } from '../sandbox/runtime-folder.js';
import type { Run } from './run.js';

/** How often every held run's launcher is looked for. */
export const SWEEP_MS = 5_000;
/** When a launcher is looked for after its kill watcher dropped (ms after the drop, cumulative). */
const SOON_MS = [0, 50, 200, 500, 1_000, 2_000];

export interface LauncherWatchDeps {
  /** Active runs: only those can still be ended (an exhausted one has ended already). */
  held(): Promise<Run[]>;
  kill(id: string, reason: string): void;
  warn(error: unknown, message: string): void;
}

export function launcherDied(tag: string): string {
  const pid = /\.(\d+)\.\d+$/.exec(tag)?.[1] ?? '?';
  return `its launcher (bulkhead run, pid ${pid}) died without ending the run`;
}

export class LauncherWatch {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly deps: LauncherWatchDeps,
    everyMs = SWEEP_MS,
  ) {
    this.timer = setInterval(() => void this.sweep(), everyMs);
    this.timer.unref();
  }

  /** Kills every held run whose launcher is gone; never throws. */
  async sweep(): Promise<void> {
    let runs: Run[];
    try {
      runs = await this.deps.held();
    } catch (error) {
      this.deps.warn(error, 'could not list runs to look for their launchers; the next sweep tries again');
      return;
    }
    for (const run of runs) {
      if (run.launcher !== null && hostLauncherGone(run.launcher))
        this.deps.kill(run.id, launcherDied(run.launcher));
    }
  }

  /** The run's launcher dropped its kill watcher: look for it over the next few seconds. */
  dropped(run: Run, check = 0): void {
    const tag = run.launcher;
    const delay = SOON_MS[check];
    if (tag === null || delay === undefined) return;
    setTimeout(() => {
      if (hostLauncherGone(tag)) this.deps.kill(run.id, launcherDied(tag));
      else this.dropped(run, check + 1);
    }, delay).unref();
  }

  close(): void {
    clearInterval(this.timer);
  }
}
