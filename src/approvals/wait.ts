/**
 * A held call waiting for its decision: woken at once by a decision in this gateway, or by the
 * store poll (a decision made through another replica; only the fallback while push signals are
 * live); it ends by claiming an approval (`approved → executing`, which one caller wins), with the
 * decision's denial, at the approval's expiry (timeout means deny), or when its caller cancels or
 * goes away (the approval stays open for an identical retry while the run is active).
 */
import { type Denial, denial } from '../errors.js';
import type { EventWriter } from '../events/writer.js';
import type { RunService } from '../runs/service.js';
import type { Store } from '../store/store.js';
import type { Approval } from './approval.js';
import type { HoldOutcome, HoldRequest } from './hold.js';
import type { Wake, Watch } from './wakeups.js';

const PROGRESS_EVERY_MS = 5_000;
const POLL_MS = 500;
const FALLBACK_POLL_MS = 2_000;

export interface WaitDeps {
  store: Store;
  events: EventWriter;
  runs: RunService;
  now: () => number;
  /** Store poll while waiting: how soon a decision made through another replica is seen. */
  pollMs?: number;
  /** Store poll while push signals are live (default 2 s): only the fallback for a lost NOTIFY. */
  fallbackPollMs?: number;
  /** Interval of MCP progress notifications to a waiting client that asked for them. */
  progressEveryMs?: number;
}

/** The conditional write `approved → executing` bound to run, tool and argument hash. */
export type Claim = (
  approval: Approval,
  runId: string,
  tool: string,
  argsHash: string,
) => Promise<Approval | undefined>;

export async function waitForDecision(
  deps: WaitDeps,
  claim: Claim,
  approval: Approval,
  request: HoldRequest,
  watch: Watch,
): Promise<HoldOutcome> {
  const { store, now } = deps;
  const started = now();
  let lastProgress = started;
  let wake: Wake | undefined;
  for (;;) {
    // Woken by an approval: claim at once, one round trip instead of a read and then the claim.
    // The claim is the same conditional write as below, so a forged or stale hint just fails it.
    if (wake?.state === 'approved') {
      const claimed = await claim(approval, request.runId, request.tool, request.argsHash);
      if (claimed) return { ok: true, approval: claimed };
    }
    const current = await store.approvals.get(approval.id);
    if (!current) return { ok: false, denial: denial('internal_error', 'The approval could not be found.') };
    switch (current.state) {
      case 'approved': {
        const claimed = await claim(current, request.runId, request.tool, request.argsHash);
        if (claimed) return { ok: true, approval: claimed };
        // The run ended (the claim withdrew the approval)...
        const after = await store.approvals.get(approval.id);
        if (after?.state === 'withdrawn')
          return { ok: false, approval: after, denial: await whyWithdrawn(deps, request) };
        // ...or another caller (an identical concurrent call of this run) claimed it first.
        return { ok: false, approval: current, denial: alreadyRan() };
      }
      case 'denied':
        return {
          ok: false,
          approval: current,
          denial: denial(
            'approval_denied',
            `A human declined this call${current.reason ? `: ${current.reason}` : '.'}`,
          ),
        };
      case 'timed_out':
        return { ok: false, approval: current, denial: timeoutDenial() };
      case 'executing':
      case 'executed':
      case 'failed':
      case 'outcome_unknown':
        // Claimed, and not by this caller (its claim above failed, or it never tried one).
        return { ok: false, approval: current, denial: alreadyRan() };
      case 'pending':
        break;
      default:
        return { ok: false, approval: current, denial: await whyWithdrawn(deps, request) };
    }
    if (now() >= current.expiresAt) {
      // Timeout means deny. If a decision raced in, the next pass reads it.
      const written = await timeOut(deps, current);
      if (written) return { ok: false, approval: current, denial: timeoutDenial() };
      continue;
    }
    wake = await watch.sleep(
      Math.min(
        // With push signals live, polling is only the fallback for a lost notification.
        deps.store.signals.live() ? (deps.fallbackPollMs ?? FALLBACK_POLL_MS) : (deps.pollMs ?? POLL_MS),
        current.expiresAt - now(),
      ),
      request.signal,
      request.callerGone,
    );
    if (request.signal.aborted) return abandon(deps, current, request);
    if (request.callerGone?.aborted) return callerLeft(deps, current, request);
    if (request.progress && now() - lastProgress >= (deps.progressEveryMs ?? PROGRESS_EVERY_MS)) {
      lastProgress = now();
      await request.progress(now() - started, 'waiting for a human to approve').catch(() => undefined);
    }
  }
}

/**
 * The caller's connection closed while it waited. The approval stays pending: a human can still
 * decide it, and only an identical retry (which waits on it, or claims it once approved) runs
 * it, so an approval never executes with nobody there for the result.
 */
async function callerLeft(deps: WaitDeps, approval: Approval, request: HoldRequest): Promise<HoldOutcome> {
  await deps.events.write({
    kind: 'approval.requested',
    runId: approval.runId,
    tool: approval.tool,
    decision: 'hold',
    code: 'caller_left',
    actor: `run:${request.runId}`,
    data: {
      approvalId: approval.id,
      note: 'the caller disconnected; the approval stays open and runs only for an identical retry',
    },
  });
  return keptOpen(approval);
}

async function abandon(deps: WaitDeps, approval: Approval, request: HoldRequest): Promise<HoldOutcome> {
  const run = await deps.runs.get(request.runId);
  // The SDK aborts with the client's reason (a string) on notifications/cancelled, and with
  // no reason when the connection closes. A disconnect or a gateway restart keeps the
  // approval open, so a human can still decide it and an identical retry can use it.
  const cancelled = typeof request.signal.reason === 'string';
  if (run?.state === 'active' && !cancelled) {
    return keptOpen(approval);
  }
  await deps.events.writeMoving(
    {
      kind: 'approval.decided',
      runId: approval.runId,
      tool: approval.tool,
      code: 'withdrawn',
      actor: run?.state === 'active' ? `run:${approval.runId}` : 'system',
      data: {
        approvalId: approval.id,
        why: run?.state === 'active' ? 'the client cancelled' : `the run is ${run?.state}`,
      },
    },
    { id: approval.id, from: ['pending'], to: 'withdrawn', at: deps.now() },
  );
  if (run?.state !== 'active') {
    return {
      ok: false,
      approval,
      denial: denial('run_not_active', 'This run has ended; the held call was withdrawn.'),
    };
  }
  return {
    ok: false,
    approval,
    denial: denial('approval_withdrawn', 'The call was cancelled while waiting for approval.'),
  };
}

/** Moves a pending approval past its expiry to `timed_out` (timeout means deny); false if a decision won the race. */
export async function timeOut(deps: Pick<WaitDeps, 'events' | 'now'>, approval: Approval): Promise<boolean> {
  const written = await deps.events.writeMoving(
    {
      kind: 'approval.decided',
      runId: approval.runId,
      tool: approval.tool,
      code: 'timed_out',
      actor: 'system',
      data: { approvalId: approval.id },
    },
    { id: approval.id, from: ['pending'], to: 'timed_out', at: deps.now() },
  );
  return written !== undefined;
}

/** The caller is gone but the run is not: the approval stays pending for an identical retry. */
function keptOpen(approval: Approval): HoldOutcome {
  return {
    ok: false,
    approval,
    denial: denial(
      'approval_withdrawn',
      'The client went away; the approval stays open for an identical retry.',
    ),
  };
}

function alreadyRan(): Denial {
  return denial('approval_denied', 'An identical call already ran under this approval.');
}

function timeoutDenial(): Denial {
  return denial('approval_timeout', 'No human approved this call in time; it was not run.');
}

/** Withdrawn because the run ended: say so, the agent should stop, not retry. */
async function whyWithdrawn(deps: WaitDeps, request: HoldRequest): Promise<Denial> {
  const run = await deps.runs.get(request.runId);
  return run?.state === 'active'
    ? denial('approval_withdrawn', 'This approval is no longer pending.')
    : denial('run_not_active', 'This run has ended; the held call was withdrawn.');
}
