/**
 * Intent before effect: a call is recorded durably as an open intent before
 * the upstream sees it, and closed by its audit event (record, in the same
 * transaction). A gateway killed in between leaves the intent open; a live
 * replica, or this one at its next start, turns it into a `tools/call` event
 * with code `outcome_unknown` (src/replicas/reconcile.ts). So every call an
 * upstream saw has an audit event, also across kill -9.
 */
import { randomUUID } from 'node:crypto';
import type { IntentStore } from '../store/store.js';
import { canonicalHash } from '../util/canonical.js';
import { RESULT_PREVIEW_BYTES } from './record.js';
import type { ToolCall } from './stage.js';

export interface IntentDeps {
  intents: IntentStore;
  /** The replica forwarding the call (the store handle's identity). */
  owner: string;
  scrub: (value: unknown) => unknown;
  now: () => number;
}

/** The intent's id, or undefined when the run was killed or expired first: nothing may be forwarded. */
export async function openIntent(deps: IntentDeps, call: ToolCall): Promise<string | undefined> {
  const tool = call.tool;
  const args = call.args;
  if (!tool || !args) throw new Error('an intent needs a resolved tool and validated arguments');
  // randomUUID draws from a buffered pool: about a tenth of randomBytes' cost per call here.
  const id = `int_${randomUUID()}`;
  const opened = await deps.intents.open({
    id,
    owner: deps.owner,
    runId: call.run.id,
    tool: tool.exposed,
    argsHash: canonicalHash(args),
    arguments: bounded(deps.scrub(args)),
    approvalId: call.approvalId ?? null,
    startedAt: deps.now(),
  });
  return opened ? id : undefined;
}

/** What an `outcome_unknown` event keeps of the arguments: scrubbed, and never more than a preview. */
function bounded(value: unknown): unknown {
  const text = JSON.stringify(value) ?? 'null';
  return text.length <= RESULT_PREVIEW_BYTES
    ? value
    : `${text.slice(0, RESULT_PREVIEW_BYTES)}… (${text.length} bytes)`;
}
