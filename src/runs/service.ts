/**
 * Run lifecycle: create (mint a token), authenticate (token → active run),
 * end (completed, killed, expired, exhausted). Ending is decided once, in the
 * store; whoever ends a run also fires its abort signal so in-flight work in
 * this gateway stops.
 */
import { setMaxListeners } from 'node:events';
import { BulkheadError } from '../errors.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Policy } from '../policy/schema/index.js';
import { faultPoint } from '../replicas/fault-point.js';
import type { Scrubber } from '../scrub/index.js';
import type { Store } from '../store/store.js';
import { LauncherWatch } from './launcher-watch.js';
import type { DataClass, Run, RunState, ValueFingerprint } from './run.js';
import {
  ACCESS_TOKEN_PREFIX,
  GRANT_PREFIX,
  hashToken,
  mintToken,
  newRunId,
  RUN_TOKEN_PREFIX,
} from './tokens.js';

/** How long a run grant can wait to be redeemed. */
export const GRANT_TTL_MS = 15 * 60_000;

/** Bounds the fingerprints one run keeps: a run reading a whole table does not grow the store without end. */
export const MAX_FINGERPRINTS_PER_RUN = 5_000;

export interface CreatedRun {
  run: Run;
  /** Shown once, to whoever created the run; only its hash is stored. */
  token: string;
}

export interface RunServiceOptions {
  store: Store;
  policy: Policy;
  events: EventWriter;
  scrubber: Scrubber;
  now?: () => number;
  watchMs?: number;
  /** Kill re-read interval while push signals are live (default 2 s): the fallback for a lost NOTIFY. */
  fallbackWatchMs?: number;
  /** How often secrets minted for runs that ended unseen (another replica) are let go (default 60 s). */
  forgetSweepMs?: number;
  /** Where failures of background work (expiry, signals, rechecks) are reported. */
  logger?: Pick<Logger, 'warn' | 'error'>;
}

/** How soon a run whose expiry could not be recorded (store unavailable) is tried again. */
const EXPIRY_RETRY_MS = 1_000;

/** How often the secrets minted here for runs that ended unseen (another replica) are let go. */
const FORGET_SWEEP_MS = 60_000;

export class RunService {
  private readonly controllers = new Map<string, AbortController>();
  /** When each run last asked for its signal; only recent runs are watched. */
  private readonly lastUsed = new Map<string, number>();
  private readonly watcher: NodeJS.Timeout;
  /** The clock runs expire by (the store's: replicas/store-clock.ts). */
  readonly now: () => number;
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly endListeners = new Set<(run: Run) => void>();
  /** Kills runs whose `bulkhead run` died unreported (launcher-watch.ts). */
  readonly launchers: LauncherWatch;
  /**
   * The secrets minted here for each run (its token, its grants), which the scrubber knows until
   * the run ends: a gateway that runs for weeks mints one per run, and the scrubber's work per
   * new secret grew with every one it had ever known. `at`: when the run was in the store.
   */
  private readonly minted = new Map<string, { at: number; secrets: string[] }>();
  private readonly forgetSweep: NodeJS.Timeout;

  constructor(private readonly options: RunServiceOptions) {
    this.now = options.now ?? Date.now;
    this.launchers = new LauncherWatch({
      held: () => options.store.runs.list({ state: 'active', limit: 10_000 }),
      kill: (id, reason) => this.killInBackground(id, reason),
      warn: (error, message) => options.logger?.warn({ err: error }, message),
    });
    // Another replica (or process on the same file) may kill a run: its in-flight calls
    // here must end too. Runs with calls in the last two minutes are re-read every 250 ms.
    // With PostgreSQL LISTEN/NOTIFY live, a kill arrives as a signal and the poll is only the
    // fallback for a lost notification, so it runs every 2 s (`fallbackWatchMs`) instead.
    let ticks = 0;
    const every = Math.max(1, Math.round((options.fallbackWatchMs ?? 2_000) / (options.watchMs ?? 250)));
    this.watcher = setInterval(() => {
      if (options.store.signals.live() && ticks++ % every !== 0) return;
      void this.watchOthers();
    }, options.watchMs ?? 250);
    this.watcher.unref();
    this.forgetSweep = setInterval(
      () => void this.forgetEndedUnseen(),
      options.forgetSweepMs ?? FORGET_SWEEP_MS,
    );
    this.forgetSweep.unref();
    this.unsubscribe = options.store.signals.subscribe((signal) => {
      if (signal.topic === 'run' && this.controllers.has(signal.id)) void this.recheck(signal.id);
    });
  }

  private readonly unsubscribe: () => void;

  /**
   * A run with calls here that another replica (or process on the same file) ended: a kill or
   * expiry cancels its in-flight calls, and what this gateway keeps for the run (its sessions,
   * loop-guard keys, approvals waiting here) is let go as if it had ended here. Once only: the
   * run's controller is the token, taken by whichever of this and a local `end` comes first.
   */
  private async recheck(runId: string): Promise<void> {
    const run = await this.options.store.runs.get(runId).catch((error: unknown) => {
      // The periodic watcher asks again; until then this replica's calls for the run go on.
      this.options.logger?.warn(
        { err: error, runId },
        'could not re-read a run another replica may have ended',
      );
      return undefined;
    });
    if (run && run.state !== 'active') this.forgetMinted(runId);
    if (!run || run.state === 'active' || !this.controllers.has(runId)) return;
    if (run.state === 'killed' || run.state === 'expired') this.abort(runId, run.state);
    else this.controllers.delete(runId);
    this.lastUsed.delete(runId);
    for (const listener of this.endListeners) listener(run);
  }

  async create(
    profile: string,
    opts: { label?: string; ttlMs?: number; actor?: string; launcher?: string } = {},
  ): Promise<CreatedRun> {
    const prof = this.options.policy.profiles[profile];
    if (!prof) throw new BulkheadError('not_found', `no profile named "${profile}"`);
    const token = mintToken(RUN_TOKEN_PREFIX);
    this.options.scrubber.addSecrets([token]);
    const createdAt = this.now();
    const ttl = opts.ttlMs ?? prof.budgets.wall_clock ?? prof.run_ttl;
    const run = await this.options.store.runs
      .create({
        id: newRunId(),
        profile,
        tokenHash: hashToken(token),
        createdAt,
        expiresAt: createdAt + ttl,
        label: opts.label ?? null,
        launcher: opts.launcher ?? null,
      })
      .catch((error: unknown) => {
        // Shown to nobody, so nothing to scrub: a store that refuses runs must not grow the scrubber.
        this.options.scrubber.forgetSecrets([token]);
        throw error;
      });
    this.minted.set(run.id, { at: performance.now(), secrets: [token] });
    this.watchExpiry(run);
    await this.options.events.write({
      kind: 'run.created',
      runId: run.id,
      actor: opts.actor ?? 'system',
      data: {
        profile,
        expiresAt: run.expiresAt,
        label: run.label,
        ...(run.launcher ? { launcher: run.launcher } : {}),
      },
    });
    return { run, token };
  }

  /**
   * The run a bearer token belongs to, or undefined: the run token itself, or
   * an OAuth access token issued for the run. Expiry is applied on read.
   */
  async authenticate(token: string): Promise<Run | undefined> {
    let run: Run | undefined;
    if (token.startsWith(RUN_TOKEN_PREFIX)) {
      run = await this.options.store.runs.byTokenHash(hashToken(token));
    } else if (token.startsWith(ACCESS_TOKEN_PREFIX)) {
      const access = await this.options.store.credentials.find(hashToken(token), 'access', this.now());
      run = access?.runId ? await this.options.store.runs.get(access.runId) : undefined;
    }
    if (!run) return undefined;
    return this.applyExpiry(run);
  }

  /**
   * A one-time grant an OAuth client's user pastes at /authorize to connect that
   * client to this run. It expires after `ttlMs` and never outlives the run.
   */
  async mintGrant(runId: string, ttlMs = GRANT_TTL_MS): Promise<{ grant: string; expiresAt: number }> {
    const run = await this.get(runId);
    if (run?.state !== 'active') throw new BulkheadError('conflict', `run ${runId} is not active`);
    const grant = mintToken(GRANT_PREFIX);
    this.options.scrubber.addSecrets([grant]);
    const minted = this.minted.get(runId);
    if (minted) minted.secrets.push(grant);
    else this.minted.set(runId, { at: performance.now(), secrets: [grant] });
    const expiresAt = Math.min(this.now() + ttlMs, run.expiresAt);
    await this.options.store.credentials.put({
      key: hashToken(grant),
      kind: 'grant',
      runId,
      clientId: null,
      expiresAt,
      data: {},
    });
    await this.options.store.credentials.prune(this.now() - 24 * 60 * 60_000);
    return { grant, expiresAt };
  }

  async get(id: string): Promise<Run | undefined> {
    const run = await this.options.store.runs.get(id);
    return run && this.applyExpiry(run);
  }

  async list(filter?: { state?: RunState; limit?: number }): Promise<Run[]> {
    return this.options.store.runs.list(filter);
  }

  /** Ends a run once. Returns the ended run, or undefined when it had already ended. */
  async end(
    id: string,
    state: Exclude<RunState, 'active'>,
    reason: string,
    opts: { exitCode?: number | null; actor?: string } = {},
  ): Promise<Run | undefined> {
    const ended = await this.options.store.runs.end(id, state, reason, opts.exitCode ?? null);
    if (ended) faultPoint('run-ended');
    // A kill or expiry cancels in-flight work; running out of budget only stops new calls,
    // since the calls already under way were within it.
    if (state === 'killed' || state === 'expired') {
      this.abort(id, state);
      // Every other replica cancels this run's in-flight calls as soon as it hears this.
      if (ended) {
        this.options.store.signals.publish({ topic: 'run', id }).catch((error: unknown) => {
          // Other replicas still see the end at their next poll (fallbackWatchMs), just later.
          this.options.logger?.warn(
            { err: error, runId: id },
            'could not signal a run end to other replicas',
          );
        });
      }
    } else this.controllers.delete(id);
    // Ended here or before (by another replica): its token and grants open nothing any more.
    this.forgetMinted(id);
    if (!ended) return undefined;
    // Grants, codes and OAuth tokens of an ended run are worthless; revoke them with it.
    await this.options.store.credentials.revokeRun(id, this.now());
    const timer = this.expiryTimers.get(id);
    if (timer) clearTimeout(timer);
    this.expiryTimers.delete(id);
    await this.options.events.write({
      kind: 'run.ended',
      runId: id,
      actor: opts.actor ?? 'system',
      code: state,
      data: { state, reason, exitCode: ended.exitCode },
    });
    for (const listener of this.endListeners) listener(ended);
    return ended;
  }

  /** Fires when a run ends (kill, expiry, completion), here or through another replica. */
  onEnd(listener: (run: Run) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** An AbortSignal that fires when the run ends; every wait of the run's calls listens to it. */
  signal(runId: string): AbortSignal {
    this.lastUsed.set(runId, this.now());
    let controller = this.controllers.get(runId);
    if (!controller) {
      controller = new AbortController();
      // Every in-flight call of the run listens to this signal (and detaches when done):
      // many at once is normal, not the listener leak the default warning is meant for.
      setMaxListeners(1_000, controller.signal);
      this.controllers.set(runId, controller);
    }
    return controller.signal;
  }

  async taint(runId: string, source: string): Promise<Run | undefined> {
    const before = await this.options.store.runs.get(runId);
    const run = await this.options.store.runs.taint(runId, source);
    if (run && before && !before.taint.sources.includes(source)) {
      await this.options.events.write({ kind: 'run.tainted', runId, tool: source, data: { source } });
    }
    return run;
  }

  /**
   * Records that the run read `dataClass` data from `source`, with fingerprints
   * of the values it received (for recognising them in later arguments).
   */
  async markRead(
    runId: string,
    dataClass: DataClass,
    source: string,
    fingerprints: readonly ValueFingerprint[],
  ): Promise<Run | undefined> {
    const before = await this.options.store.runs.get(runId);
    const run = await this.options.store.runs.markRead(runId, dataClass, source);
    if (fingerprints.length > 0)
      await this.options.store.runs.addFingerprints(runId, fingerprints, MAX_FINGERPRINTS_PER_RUN);
    if (run && before && !before.read[dataClass].includes(source)) {
      await this.options.events.write({
        kind: 'run.data_read',
        runId,
        tool: source,
        code: dataClass,
        data: { class: dataClass, source },
      });
    }
    return run;
  }

  async fingerprints(runId: string): Promise<ValueFingerprint[]> {
    return this.options.store.runs.fingerprints(runId);
  }

  /** Re-arms expiry timers for active runs after a restart. */
  async resume(): Promise<void> {
    for (const run of await this.options.store.runs.list({ state: 'active', limit: 10_000 })) {
      await this.applyExpiry(run);
      if (run.expiresAt > this.now()) this.watchExpiry(run);
    }
    // A launcher that died while this gateway was down.
    await this.launchers.sweep();
  }

  close(): void {
    clearInterval(this.watcher);
    clearInterval(this.forgetSweep);
    this.launchers.close();
    this.unsubscribe();
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
  }

  private async watchOthers(): Promise<void> {
    const cutoff = this.now() - 120_000;
    for (const [runId, used] of this.lastUsed) {
      if (used < cutoff) {
        this.lastUsed.delete(runId);
        continue;
      }
      if (!this.controllers.has(runId)) continue;
      await this.recheck(runId);
    }
  }

  /**
   * Kills run `id` unless it has ended already, for a cause found in the background (its launcher
   * died, launcher-watch.ts). Never throws: a store that fails is logged.
   */
  killInBackground(id: string, reason: string): void {
    const kill = async () => {
      const run = await this.get(id);
      // Ended meanwhile (the launcher reported the agent's exit, then exited itself): left as it is.
      if (run?.state === 'active') await this.end(id, 'killed', reason);
    };
    kill().catch((error: unknown) => {
      this.options.logger?.error({ err: error, runId: id }, `could not kill a run (${reason})`);
    });
  }

  /** The scrubber lets go of what was minted here for run `id`. */
  private forgetMinted(id: string): void {
    const minted = this.minted.get(id);
    if (!minted) return;
    this.minted.delete(id);
    this.options.scrubber.forgetSecrets(minted.secrets);
  }

  /**
   * Runs ended where this replica did not see it (another replica, with no call of the run here):
   * what was minted for them is let go too. Only runs in the store before the list was read are
   * judged, and none when the list may be cut short.
   */
  private async forgetEndedUnseen(): Promise<void> {
    if (this.minted.size === 0) return;
    const asked = performance.now();
    const limit = 10_000;
    const active = await this.options.store.runs.list({ state: 'active', limit }).catch((error: unknown) => {
      this.options.logger?.warn({ err: error }, "could not list active runs to let ended runs' tokens go");
      return undefined;
    });
    if (!active || active.length >= limit) return;
    const live = new Set(active.map((run) => run.id));
    for (const [id, minted] of this.minted) if (minted.at < asked && !live.has(id)) this.forgetMinted(id);
  }

  private abort(runId: string, state: string): void {
    const controller = this.controllers.get(runId);
    controller?.abort(new BulkheadError('forbidden', `run ${state}`));
    this.controllers.delete(runId);
  }

  private async applyExpiry(run: Run): Promise<Run> {
    if (run.state === 'active' && run.expiresAt <= this.now()) {
      return (await this.end(run.id, 'expired', 'wall clock budget reached')) ?? { ...run, state: 'expired' };
    }
    return run;
  }

  private watchExpiry(run: Run, delay = Math.max(0, run.expiresAt - this.now())): void {
    // Wall clock is enforced by ending the run, not by asking the agent to stop.
    if (delay > 2 ** 31 - 1) return;
    const timer = setTimeout(() => {
      this.expiryTimers.delete(run.id);
      this.end(run.id, 'expired', 'wall clock budget reached').catch((error: unknown) => {
        // A jailed agent that makes no calls would otherwise run on past its wall clock: the
        // end is tried again until the store takes it.
        this.options.logger?.error({ err: error, runId: run.id }, 'could not end an expired run; retrying');
        if (!this.expiryTimers.has(run.id)) this.watchExpiry(run, EXPIRY_RETRY_MS);
      });
    }, delay);
    timer.unref();
    this.expiryTimers.set(run.id, timer);
  }
}
