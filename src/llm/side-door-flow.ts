/**
 * A side door a profile opened (server tools such as web fetch and search, the
 * MCP connector, content the API fetches by URL) is an external sink like an
 * `external` tool: the API sends out whatever the agent wrote into the URL,
 * the query or the connector call. So once the run has read private or secret
 * data, the profile's flow rules (`private_external`, `secret_external`)
 * decide it as they decide a tool call. An LLM request cannot wait for a
 * human, so a rule that would hold a tool call for approval refuses the
 * request; only `allow` lets it through. A request that opens no door, or a
 * run that read nothing private, is not affected.
 */
import type { FlowAction, Profile } from '../policy/schema/profile.js';
import type { Run } from '../runs/run.js';
import type { SideDoor } from './side-doors.js';
import type { WireFormat } from './wire-format.js';

export interface SideDoorFlow {
  /** The door this request uses, as a request path (`tools[1].type`). */
  field: string;
  action: Exclude<FlowAction, 'allow'>;
  /** What the run read, from where. */
  read: { private: string[]; secret: string[] };
}

const STRICTNESS: Record<FlowAction, number> = { allow: 0, approve: 1, refuse: 2 };

/** The door this request would use past a flow rule that does not allow it; undefined when none. */
export function sideDoorFlow(
  run: Pick<Run, 'read'>,
  profile: Pick<Profile, 'llm' | 'flow'>,
  body: Record<string, unknown>,
  format: Pick<WireFormat, 'sideDoor'>,
): SideDoorFlow | undefined {
  const { private: privateRead, secret } = run.read;
  if (privateRead.length === 0 && secret.length === 0) return undefined;
  let action: FlowAction = 'allow';
  if (privateRead.length > 0) action = profile.flow.private_external;
  if (secret.length > 0 && STRICTNESS[profile.flow.secret_external] > STRICTNESS[action])
    action = profile.flow.secret_external;
  if (action === 'allow') return undefined;
  const field = openedDoor(profile, body, format);
  if (!field) return undefined;
  return { field, action, read: { private: privateRead, secret } };
}

/**
 * The request path of the first side door this request uses, if any. What comes back through it
 * (a fetched page, search results, a connector's answer) is open-world content: the caller taints
 * the run with it, as a `taints: true` tool's output would.
 */
export function openedDoor(
  profile: Pick<Profile, 'llm'>,
  body: Record<string, unknown>,
  format: Pick<WireFormat, 'sideDoor'>,
): string | undefined {
  // The same check as the side-door refusal, with every door closed: what it finds, this request uses.
  const door: SideDoor | undefined = format.sideDoor(body, null, {
    ...profile.llm,
    server_tools: [],
    mcp_servers: [],
    url_sources: false,
  });
  return door?.field;
}

/** The sentence the agent reads: which door, and why it is closed for this run. */
export function sideDoorFlowMessage(flow: SideDoorFlow): string {
  const what = [
    ...(flow.read.private.length > 0 ? [`private data (${flow.read.private.join(', ')})`] : []),
    ...(flow.read.secret.length > 0 ? [`secrets (${flow.read.secret.join(', ')})`] : []),
  ].join(' and ');
  return `bulkhead: ${flow.field} sends data out, and this run has read ${what}; the profile's flow rules do not let it through the LLM API.`;
}
