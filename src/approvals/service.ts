/**
 * Holding, deciding and releasing gated calls. A held call is persisted
 * before anyone is notified, waits until a human decides (woken at once by a
 * decision in this gateway, or by polling the store for one made through
 * another replica), and runs only by claiming its approval: `approved →
 * executing`, bound to run, tool and argument hash, which exactly one caller
 * can win. An approval still `executing` when a gateway dies becomes
 * `outcome_unknown` at the next start and is never run again on its own,
 * because the action may already have happened.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import { faultPoint } from '../replicas/fault-point.js';
import type { Scrubber } from '../scrub/index.js';
import { canonicalJson } from '../util/canonical.js';
import type { Approval, ApprovalState, Vote, VoteOutcome } from './approval.js';
import { describeEarlier, type EarlierCall, type HoldOutcome, type HoldRequest } from './hold.js';
import { timeOut, type WaitDeps, waitForDecision } from './wait.js';
import { Wakeups } from './wakeups.js';

/** How long an approval stays usable by an identical retry after its waiting caller is gone. */
export const REUSE_WINDOW_MS = 10 * 60_000;

export class ApprovalService {
  private readonly wakeups = new Wakeups();
  /** Callers waiting on each approval in this gateway, for the approver to see. */
  private readonly waiting = new Map<string, number>();

  constructor(
    private readonly deps: WaitDeps & {
      notifier: Notifier;
      linkFor: (id: string) => string;
      /** Approvals are a sink too: what they persist is scrubbed (the hash binds the real arguments). */
      scrubber: Scrubber;
      /** Where failures nobody awaits are reported (a withdrawal, a lost signal). */
      logger?: Pick<Logger, 'warn'>;
    },
  ) {
    // A run that ends leaves nobody to use its approvals: withdraw them, so an operator is not
    // asked to approve an action no one can take, and nothing approved lingers for it.
    // An exhausted run keeps the calls already under way (they were within budget), so only
    // a kill, an expiry or the end of the agent withdraws.
    deps.runs.onEnd((run) => {
      if (run.state === 'exhausted') return;
      void this.withdrawRun(run.id, run.state).catch((err: unknown) =>
        this.deps.logger?.warn({ err, runId: run.id }, 'approvals of an ended run not withdrawn'),
      );
    });
    // A decision made through another replica wakes this one's waiter at once.
    deps.store.signals.subscribe((signal) => {
      if (signal.topic === 'approval')
        this.wakeups.wake(signal.id, signal.state ? { state: signal.state } : {});
    });
  }

  /** Withdraws every pending or approved-but-unclaimed approval of a run that ended. */
  async withdrawRun(runId: string, state: string): Promise<number> {
    const { store } = this.deps;
    let withdrawn = 0;
    for (const open of ['pending', 'approved'] as const) {
      for (const a of await store.approvals.list({ state: open, runId, limit: 10_000 })) {
        // Each move with its event in one transaction (so for every move below).
        const written = await this.deps.events.writeMoving(
          {
            kind: 'approval.decided',
            runId,
            tool: a.tool,
            code: 'withdrawn',
            actor: 'system',
            data: { approvalId: a.id, why: `the run is ${state}` },
          },
          { id: a.id, from: [open], to: 'withdrawn', at: this.deps.now() },
        );
        if (!written) continue;
        withdrawn++;
        this.signal(a.id, 'withdrawn');
      }
    }
    return withdrawn;
  }

  /** An approved, unclaimed approval for exactly this call, claimed for it; undefined if none. */
  async reuse(runId: string, tool: string, argsHash: string): Promise<Approval | undefined> {
    const found = await this.deps.store.approvals.findReusable(
      runId,
      tool,
      argsHash,
      this.deps.now() - REUSE_WINDOW_MS,
    );
    return found ? this.claim(found, runId, tool, argsHash) : undefined;
  }

  async hold(request: HoldRequest): Promise<HoldOutcome> {
    // An identical retry (the first caller disconnected, or the gateway restarted) waits on
    // the approval already open for it rather than opening a second one: two approvals for
    // one intended action could let it run twice.
    const open = await this.openFor(request.runId, request.tool, request.argsHash);
    if (open) return this.wait(open, request);
    const { store, events, notifier, now } = this.deps;
    // The approver must know when this exact action may already have happened once.
    const earlier = await this.earlierIdentical(request.runId, request.tool, request.argsHash);
    const why = earlier.length ? `${request.why}; ${describeEarlier(earlier)}` : request.why;
    const created = await store.approvals.create({
      id: `apr_${randomBytes(9).toString('base64url')}`,
      runId: request.runId,
      tool: request.tool,
      toolClass: request.toolClass,
      arguments: this.deps.scrubber.value(request.args),
      argsHash: request.argsHash,
      why: this.deps.scrubber.text(why),
      quorum: request.quorum,
      approvers: request.approvers,
      createdAt: now(),
      expiresAt: now() + request.timeoutMs,
    });
    // Persisted first: a crash after this point leaves a decidable approval, never a lost one.
    await events.write({
      kind: 'approval.requested',
      runId: request.runId,
      tool: request.tool,
      decision: 'hold',
      actor: `run:${request.runId}`,
      data: {
        approvalId: created.id,
        arguments: request.args,
        why,
        expiresAt: created.expiresAt,
        ...(earlier.length ? { earlier } : {}),
      },
    });
    notifier.send({
      kind: 'approval.requested',
      title: `Approval needed: ${request.tool} (run ${request.runId})`,
      data: {
        approval_id: created.id,
        run_id: request.runId,
        tool: request.tool,
        arguments: request.args,
        why,
        ...(earlier.length ? { earlier } : {}),
      },
      link: this.deps.linkFor(created.id),
    });
    return this.wait(created, request);
  }

  /**
   * Counts one operator's vote. `seen` is the approval as the caller just read it: the store may
   * then write the vote, its event and the signal to other replicas in one round trip (a stale
   * read only costs the locked vote instead, never another outcome).
   */
  async decide(
    id: string,
    vote: Vote,
    edited?: Record<string, unknown>,
    seen?: Approval,
  ): Promise<VoteOutcome> {
    const scrub = this.deps.scrubber;
    // Edited arguments are stored scrubbed and run as stored. An edit the scrubber would alter
    // (a card number, an IBAN, a secret — or a `[REDACTED:…]` marker copied from the scrubbed
    // view) would run mangled, so it is refused rather than executed wrong.
    if (
      edited &&
      (canonicalJson(scrub.value(edited)) !== canonicalJson(edited) ||
        canonicalJson(edited).includes('[REDACTED'))
    )
      return { ok: false, code: 'edit_not_storable' };
    const clean: Vote = { ...vote, reason: vote.reason === null ? null : scrub.text(vote.reason) };
    // The vote and its event in one transaction: a decision is never taken without its record.
    const outcome = await this.deps.events.writeVote(
      { id, vote: clean, edited: edited ?? undefined, now: this.deps.now(), seen },
      (a) => ({
        kind: 'approval.decided',
        runId: a.runId,
        tool: a.tool,
        code: a.state === 'pending' ? 'vote' : a.state,
        actor: `operator:${vote.operator}`,
        data: {
          approvalId: a.id,
          decision: vote.decision,
          reason: vote.reason,
          state: a.state,
          votes: a.votes.length,
          quorum: a.quorum,
          ...(edited ? { original: a.arguments, edited } : {}),
        },
      }),
    );
    if (!outcome.ok) return outcome;
    faultPoint('approval-voted');
    const a = outcome.approval;
    if (a.state !== 'pending') {
      this.deps.notifier.send({
        kind: 'approval.decided',
        title: `${a.tool} ${a.state} by ${vote.operator}`,
        data: { approval_id: a.id, run_id: a.runId, state: a.state, reason: vote.reason },
        link: this.deps.linkFor(a.id),
      });
    }
    // Announced in the vote's transaction already: only this gateway's waiters are left to wake.
    if (outcome.announced) this.wakeups.wake(id, { state: a.state });
    else this.signal(id, a.state);
    return outcome;
  }

  /**
   * Pending approvals whose deadline passed with nobody waiting (the caller went away) become
   * `timed_out`, so operators are not shown a decision that can no longer be made.
   */
  async expireOverdue(): Promise<number> {
    const { store, now } = this.deps;
    let expired = 0;
    for (const a of await store.approvals.list({ state: 'pending', limit: 10_000 })) {
      if (a.expiresAt > now()) continue;
      if (await timeOut(this.deps, a)) expired++;
    }
    return expired;
  }

  /** How many callers wait on this approval in this gateway (0: the agent that asked is gone). */
  waitingOn(id: string): number {
    return this.waiting.get(id) ?? 0;
  }

  /** Other approvals of the same run for the same tool and arguments, newest first. */
  async identical(runId: string, tool: string, argsHash: string, except?: string): Promise<Approval[]> {
    const all = await this.deps.store.approvals.list({ runId, limit: 1_000 });
    return all.filter((a) => a.tool === tool && a.argsHash === argsHash && a.id !== except);
  }

  /** Marks what became of a claimed approval once its call is over. */
  async finish(
    id: string,
    state: 'executed' | 'failed' | 'outcome_unknown',
    summary: Record<string, unknown>,
  ): Promise<void> {
    // From outcome_unknown too: a replica starting up marks every executing approval unknown,
    // including one another live replica is still running; when that call ends, its outcome is known.
    const a = await this.deps.store.approvals.get(id);
    if (!a) return;
    await this.deps.events.writeMoving(
      {
        kind: 'approval.executed',
        runId: a.runId,
        tool: a.tool,
        code: state,
        actor: `run:${a.runId}`,
        data: { approvalId: id, ...summary },
      },
      { id, from: ['executing', 'outcome_unknown'], to: state, at: this.deps.now() },
    );
    faultPoint('approval-finished');
  }

  /** At start-up: overdue approvals time out; executions a dead gateway left open are marked. */
  async recover(): Promise<Approval[]> {
    await this.expireOverdue();
    return this.recoverOrphaned();
  }

  /**
   * Executions whose replica holds no lease (it died) become `outcome_unknown`, never retried.
   * Run at start-up and on every heartbeat (src/replicas/lease.ts); a live replica's are kept.
   */
  async recoverOrphaned(): Promise<Approval[]> {
    const unknown: Approval[] = [];
    for (const a of await this.deps.store.approvals.orphanedExecuting()) {
      // The mark and its event in one transaction: a crash between them cannot lose the event,
      // and of replicas reconciling at once only the one that marked it writes it.
      const written = await this.deps.events.writeMarking(
        {
          kind: 'approval.executed',
          runId: a.runId,
          tool: a.tool,
          code: 'outcome_unknown',
          actor: 'system',
          data: {
            approvalId: a.id,
            note: 'the gateway running this call stopped while it was executing; check the upstream',
          },
        },
        a.id,
      );
      if (!written) continue;
      faultPoint('approval-marked-unknown');
      if (a.state === 'executing') unknown.push({ ...a, state: 'outcome_unknown' });
      this.signal(a.id, 'outcome_unknown');
    }
    return unknown;
  }

  /** Earlier identical calls of this run that ran, may be running, or may have run. */
  private async earlierIdentical(runId: string, tool: string, argsHash: string): Promise<EarlierCall[]> {
    const found: EarlierCall[] = [];
    for (const a of await this.identical(runId, tool, argsHash)) {
      if (a.state === 'executing' || a.state === 'executed' || a.state === 'outcome_unknown') {
        found.push({ approvalId: a.id, state: a.state });
      }
    }
    return found;
  }

  private async wait(approval: Approval, request: HoldRequest): Promise<HoldOutcome> {
    this.waiting.set(approval.id, this.waitingOn(approval.id) + 1);
    // Watched before the first read, so a decision landing during any read is not missed.
    const watch = this.wakeups.watch(approval.id);
    try {
      return await waitForDecision(this.deps, this.claim.bind(this), approval, request, watch);
    } finally {
      watch.close();
      const left = this.waitingOn(approval.id) - 1;
      if (left > 0) this.waiting.set(approval.id, left);
      else this.waiting.delete(approval.id);
    }
  }

  private async openFor(runId: string, tool: string, argsHash: string): Promise<Approval | undefined> {
    const pending = await this.deps.store.approvals.list({ state: 'pending', runId, limit: 1_000 });
    return pending.find((a) => a.tool === tool && a.argsHash === argsHash && a.expiresAt > this.deps.now());
  }

  private async claim(
    approval: Approval,
    runId: string,
    tool: string,
    argsHash: string,
  ): Promise<Approval | undefined> {
    const claimed = await this.deps.store.approvals.transition(approval.id, ['approved'], 'executing', {
      runId,
      tool,
      argsHash,
    });
    if (claimed) return claimed;
    // Refused because the run ended? Then whoever ended it may have died before withdrawing its
    // approvals (they would stay open for good): withdraw them now, each with its event.
    const run = await this.deps.store.runs.get(runId);
    if (run && (run.state === 'killed' || run.state === 'expired')) await this.withdrawRun(runId, run.state);
    return undefined;
  }

  /**
   * Wakes waiters here at once, and on every other replica (LISTEN/NOTIFY on PostgreSQL), saying
   * the state just written so an approved call's waiter can claim without reading first.
   */
  private signal(id: string, state: ApprovalState): void {
    this.wakeups.wake(id, { state });
    // Lost, other replicas still see the decision at their next fallback poll.
    this.deps.store.signals
      .publish({ topic: 'approval', id, state })
      .catch((err: unknown) =>
        this.deps.logger?.warn({ err, approvalId: id }, 'approval signal not published'),
      );
  }
}
