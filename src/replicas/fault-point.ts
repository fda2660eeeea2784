/**
 * TEST FAULT POINTS. A fault test sets `BULKHEAD_TEST_FAULT_POINT=<name>` in
 * a gateway's environment to have that process killed with SIGKILL the
 * moment it reaches the named point, a crash at exactly the place a test
 * must prove safe (test/faults/reconcile-crash.test.ts). Inert otherwise: the
 * variable is read once at start-up, and a point costs one string compare.
 * Anyone who can set a gateway's environment can kill it anyway.
 *
 * Points: `approval-marked-unknown` — just after reconciliation committed an
 * orphaned execution's `outcome_unknown` mark with its event;
 * `replica-retired` — just after it committed a dead replica's retirement
 * with its `replica.lapsed` event; `approval-voted` — just after an
 * operator's vote was committed with its `approval.decided` event;
 * `approval-finished` — just after an executed call's approval was settled
 * with its `approval.executed` event; `reservation-settled` — just after an
 * orphaned LLM token reservation was settled with its `llm.request` event;
 * `llm-settled` — just after a live LLM request's reservation was settled
 * at what it cost (test/faults/llm-settle-crash.test.ts);
 * `run-ended` — just after a run's end was committed, before its approvals
 * are withdrawn or other replicas are told; `budget-crossed` — just after a
 * tool call's reservation crossed a budget alert threshold, before the alert
 * is written (test/faults/budget-alert-crash.test.ts).
 */
const armed = process.env.BULKHEAD_TEST_FAULT_POINT;

export function faultPoint(name: string): void {
  if (armed === name) process.kill(process.pid, 'SIGKILL');
}
