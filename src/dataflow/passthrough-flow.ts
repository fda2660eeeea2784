/**
 * Flow rules for what leaves through requests that are not tool calls. A
 * `resources/read` hands its URI to the upstream, a `prompts/get` its
 * arguments, and either can hold anything the agent puts there: a run that
 * read private data can put it in `https://collector.example/?d=...` on an
 * upstream that fetches the web, or in a prompt argument of one that sends
 * mail. Such an upstream is a way out, so once the run read private data or
 * secrets these requests meet the profile's `private_external` and
 * `secret_external` rules as an external tool call does, the strictest
 * winning. Neither request can wait for a person, so a rule that would hold
 * the call for approval refuses it (fail closed); `allow` lets it pass.
 * Untrusted content alone does not apply: it holds only `external` tool
 * calls, and neither request is one.
 *
 * A way out is an upstream one of whose tools is an external sink (by the
 * policy's class or `taints`, or the server's own `openWorldHint`), or a
 * resource entry that reads the open web (`taints: true`).
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Policy, Profile } from '../policy/schema/index.js';
import type { FlowAction } from '../policy/schema/profile.js';
import type { Run, ValueFingerprint } from '../runs/run.js';
import { isExternalSink } from './classes.js';
import { type Recognised, recognise } from './fingerprint.js';
import { valuesInArguments } from './values.js';

/** Whether what `upstream` is sent can leave: a tool of it is an external sink. */
export function upstreamSendsOut(
  policy: Pick<Policy, 'tools'>,
  upstream: string,
  listed: readonly Pick<Tool, 'annotations'>[],
): boolean {
  if (Object.values(policy.tools[upstream] ?? {}).some((rule) => isExternalSink(rule))) return true;
  return listed.some((tool) => tool.annotations?.openWorldHint === true);
}

export interface PassthroughFlowRefusal {
  action: Exclude<FlowAction, 'allow'>;
  /** What the run read and from where, as the tool flow's evidence. */
  reasons: { rule: 'private_external' | 'secret_external'; sources: string[] }[];
  /** Outgoing values (the URI, prompt arguments) received from a private or secret source. */
  recognised: Recognised[];
  message: string;
}

const STRICTNESS: Record<FlowAction, number> = { allow: 0, approve: 1, refuse: 2 };

/** The refusal for a request to a way out, or undefined when the profile's rules let it pass. */
export function passthroughFlow(
  run: Pick<Run, 'id' | 'read'>,
  profile: Pick<Profile, 'flow'>,
  outgoing: Record<string, unknown>,
  kept: readonly ValueFingerprint[],
): PassthroughFlowRefusal | undefined {
  const reasons: PassthroughFlowRefusal['reasons'] = [];
  if (run.read.private.length > 0) reasons.push({ rule: 'private_external', sources: run.read.private });
  if (run.read.secret.length > 0) reasons.push({ rule: 'secret_external', sources: run.read.secret });
  const action = reasons
    .map((r) => profile.flow[r.rule])
    .reduce((a, b) => (STRICTNESS[b] > STRICTNESS[a] ? b : a), 'allow' as FlowAction);
  if (action === 'allow') return undefined;
  const recognised = recognise(run.id, kept, valuesInArguments(outgoing));
  const read = reasons
    .map((r) => `${r.rule === 'private_external' ? 'private data' : 'secrets'} from ${r.sources.join(', ')}`)
    .join(' and ');
  const how =
    action === 'approve'
      ? 'it would need a person to approve, which this request cannot wait for'
      : 'the profile refuses it';
  return {
    action,
    reasons,
    recognised,
    message: `This run has read ${read}, and this request sends data to a service that passes it on: ${how}.`,
  };
}
