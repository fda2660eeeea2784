/**
 * What resources and prompts share on their way from an upstream to an
 * agent: the run must be active and its profile must list the item (off
 * unless listed); what the upstream returns is inspected like a tool result
 * (hidden characters, escapes, forged `_meta`, injection heuristics, size
 * cap), scrubbed with the profile's scrubber in slices, flagged, and taints
 * the run when inspection finds something or the policy says so; every
 * request, allowed or refused, is an audit event. Refusals are JSON-RPC
 * errors with a stable code in `data`, raised through the SDK.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ItemDefinition, ItemKind } from '../audit/pin-items.js';
import { fingerprintsOf } from '../dataflow/fingerprint.js';
import { carriesGatewaySecret } from '../dataflow/gateway-secrets.js';
import { passthroughFlow, upstreamSendsOut } from '../dataflow/passthrough-flow.js';
import { valuesInTexts } from '../dataflow/values.js';

import type { EventKind } from '../events/event.js';
import type { EventWriter } from '../events/writer.js';
import { cleanDefinition } from '../inspect/definition.js';
import type { Inspector } from '../inspect/inspector.js';
import { scrubJoinedYielding } from '../inspect/joined.js';
import { settleScrubbedPayloads } from '../inspect/payloads.js';
import { progressCleaner } from '../inspect/progress.js';
import type { Logger } from '../log.js';
import { GATEWAY_SECRET_REFUSAL } from '../pipeline/gateway-secrets.js';
import { TAINTING_FLAGS } from '../pipeline/inspect.js';
import { auditPreview } from '../pipeline/record.js';
import type { taintBeforeText } from '../pipeline/taint.js';
import type { DataSources, Policy, Profile } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import { scrubValueYielding } from '../scrub/yielding.js';
import type { DefinitionPins } from './definition-pins.js';
import type { UpstreamPool } from './upstream-pool.js';
import { routeProgress } from './upstream-progress.js';

export interface PassthroughDeps {
  policy: () => Policy;
  runs: RunService;
  pool: UpstreamPool;
  events: EventWriter;
  logger: Logger;
  /** The scrubber for what goes back to agents of a profile. */
  scrubberFor: (profile: string) => Scrubber;
  /** The scrubber every sink uses (definitions are listed to any agent). */
  scrubber: Scrubber;
  /** Marks the gateway's own secrets only (scrubbers.ts): none may leave in a URI or a prompt's arguments. */
  gatewaySecrets: Scrubber;
  /** With a pin lock, only prompts, resources and templates as reviewed are shown or used. */
  pins?: DefinitionPins;
}

/** Pages followed when listing an upstream's resources or prompts. */
export const MAX_PAGES = 20;
/** Size budget of one resource or prompt answer (bytes), as a tool's default `max_output`. */
export const MAX_ANSWER_BYTES = 256 * 1024;

export interface RequestContext {
  run: Run;
  profile: Profile;
  actor: string;
}

export class Refusal extends McpError {
  constructor(
    readonly denialCode: string,
    message: string,
  ) {
    super(ErrorCode.InvalidParams, message, { code: denialCode });
  }
}

/** The active run behind a session and its profile, or a refusal (recorded). */
export async function contextFor(
  deps: PassthroughDeps,
  runId: string,
  kind: EventKind,
  subject: string | null,
): Promise<RequestContext> {
  const run = await deps.runs.get(runId);
  const profile = run ? deps.policy().profiles[run.profile] : undefined;
  if (!run || !profile || run.state !== 'active') {
    await refuse(deps, runId, kind, subject, 'run_not_active', 'This run is no longer active.');
  }
  return { run: run as Run, profile: profile as Profile, actor: `run:${runId}` };
}

/** Records a refused request, then throws it to the SDK as a JSON-RPC error. */
export async function refuse(
  deps: PassthroughDeps,
  runId: string,
  kind: EventKind,
  subject: string | null,
  code: string,
  message: string,
  data: Record<string, unknown> = {},
): Promise<never> {
  await deps.events.write({
    kind,
    runId,
    tool: subject,
    decision: 'deny',
    code,
    actor: `run:${runId}`,
    data,
  });
  throw new Refusal(code, message);
}

/** What the agent is told when a request failed for any reason but a refusal. */
export const REQUEST_FAILED = 'The request could not be completed.';

/**
 * A request handler whose every error but a refusal reaches the agent as one safe sentence. The
 * SDK answers a thrown error with its message, and an upstream's error message carries what the
 * upstream knows of its inside (a connection string and its password, a token, host names) or
 * whatever an upstream an attacker steers writes there; the message goes to the log instead.
 */
export function guarded<A extends unknown[], R>(
  deps: Pick<PassthroughDeps, 'logger'>,
  what: string,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (error) {
      if (error instanceof Refusal) throw error;
      deps.logger.warn({ err: error }, `${what} failed`);
      throw new McpError(ErrorCode.InternalError, REQUEST_FAILED);
    }
  };
}

/**
 * One upstream's part of a listing, or nothing when it fails: a broken upstream leaves the others'
 * resources and prompts listed, and its error goes to the log, never to the agent.
 */
export async function upstreamPart<T>(
  deps: Pick<PassthroughDeps, 'logger'>,
  upstream: string,
  what: string,
  list: () => Promise<T[]>,
): Promise<T[]> {
  try {
    return await list();
  } catch (error) {
    deps.logger.warn({ upstream, err: error }, `${what} failed upstream; listed without it`);
    return [];
  }
}

/**
 * Flow rules for a request whose arguments reach a way out (dataflow/passthrough-flow.ts): the
 * URI of a resource read, the arguments of a prompt. Refused (recorded, `flow_blocked`) when the
 * run read private data or secrets and the profile would hold or refuse an external call.
 */
export async function checkOutflow(
  deps: PassthroughDeps,
  ctx: RequestContext,
  kind: EventKind,
  subject: string,
  upstream: string,
  opensWeb: boolean,
  outgoing: Record<string, unknown>,
): Promise<void> {
  // The run's own token or another secret of the gateway never leaves for an upstream.
  if (carriesGatewaySecret(outgoing, deps.gatewaySecrets.text))
    await refuse(deps, ctx.run.id, kind, subject, 'flow_blocked', GATEWAY_SECRET_REFUSAL, { upstream });
  const { read } = ctx.run;
  const rules = ctx.profile.flow;
  const held =
    (read.private.length > 0 && rules.private_external !== 'allow') ||
    (read.secret.length > 0 && rules.secret_external !== 'allow');
  if (!held) return;
  if (!opensWeb && !upstreamSendsOut(deps.policy(), upstream, deps.pool.tools(upstream))) return;
  const refusal = passthroughFlow(ctx.run, ctx.profile, outgoing, await deps.runs.fingerprints(ctx.run.id));
  if (!refusal) return;
  await refuse(deps, ctx.run.id, kind, subject, 'flow_blocked', refusal.message, {
    upstream,
    action: refusal.action,
    reasons: refusal.reasons,
    recognised: refusal.recognised,
  });
}

/** Whether a profile is shown any of `upstream`'s prompts (or resources). */
export function seesOffered(profile: Profile, upstream: string, what: 'prompts' | 'resources'): boolean {
  return what === 'prompts'
    ? profile.prompts.some((name) => name.startsWith(`${upstream}__`))
    : profile.resources.some((entry) => entry.upstream === upstream);
}

/** Whether a listed prompt, resource or template is as pinned (always, without a lock). */
export function admitted(
  deps: PassthroughDeps,
  kind: ItemKind,
  upstream: string,
  definition: ItemDefinition,
  shown: string,
): boolean {
  return deps.pins?.admit(kind, upstream, definition, shown).ok ?? true;
}

/** Definitions listed to the agent: hidden characters and secrets removed, findings logged. */
export function cleanListed<T extends object>(deps: PassthroughDeps, items: readonly T[], what: string): T[] {
  return items.map((item) => {
    const cleaned = cleanDefinition(item, deps.scrubber.text);
    if (cleaned.findings.length > 0)
      deps.logger.warn({ findings: cleaned.findings }, `${what} definition cleaned before serving`);
    return cleaned.definition;
  });
}

/**
 * A read from a private or secret source counts for flow rules as a tool's
 * output does: the run records the class it read and fingerprints of the
 * identifying values in what the upstream returned (before inspection changes
 * it), so a later external call is held and names the values it carries.
 */
export async function markSourceRead(
  deps: PassthroughDeps,
  ctx: RequestContext,
  subject: string,
  declared: DataSources | undefined,
  answer: { items: number; texts: readonly string[]; structured?: unknown },
): Promise<void> {
  if (!declared || declared === 'public') return;
  // Whatever came back counts, not only text: a private record served as a blob or an image is read.
  if (answer.items === 0 && answer.texts.length === 0 && answer.structured === undefined) return;
  const values = valuesInTexts(answer.texts, answer.structured);
  await deps.runs.markRead(ctx.run.id, declared, subject, fingerprintsOf(ctx.run.id, subject, values));
}

/**
 * The end of an allowed read: scrub in slices, flag, taint, record. Returns the answer the
 * agent gets, with the gateway's own `bulkhead/flags` when inspection found something.
 */
export async function deliver<T extends { _meta?: Record<string, unknown> }>(
  deps: PassthroughDeps,
  ctx: RequestContext,
  kind: EventKind,
  subject: string,
  inspector: Inspector,
  answer: T,
  options: { taints: boolean; data: Record<string, unknown>; shown?: string },
): Promise<T> {
  const scrubber = deps.scrubberFor(ctx.run.profile);
  // A resource's contents and a prompt's messages are read joined (inspect/joined.ts).
  let out = await scrubJoinedYielding(
    settleScrubbedPayloads(answer, await scrubValueYielding(scrubber, answer)),
    (text) => scrubValueYielding(scrubber, text),
    // The progress text shown while it was read comes first (inspect/joined.ts).
    options.shown,
  );
  // An injection phrase cut across two contents or two messages is in no one string.
  inspector.joined(out);
  const flags = inspector.flags();
  if (flags.length > 0) {
    out = { ...out, _meta: { ...out._meta, 'bulkhead/flags': flags } };
    await deps.events.write({
      kind: 'output.flagged',
      runId: ctx.run.id,
      tool: subject,
      actor: ctx.actor,
      data: { flags, findings: inspector.findings },
    });
  }
  if (options.taints || flags.some((f) => TAINTING_FLAGS.has(f))) await deps.runs.taint(ctx.run.id, subject);
  await deps.events.write({
    kind,
    runId: ctx.run.id,
    tool: subject,
    decision: 'allow',
    actor: ctx.actor,
    // What the agent was shown, as a tool call's event keeps it, not only how many items it held.
    data: { ...options.data, ...(flags.length ? { flags } : {}), ...shownInAudit(out) },
  });
  return out;
}

/** A read's answer as the audit trail keeps it: size and a bounded preview (pipeline/record.ts). */
function shownInAudit(answer: unknown): { resultBytes: number; result: unknown } {
  const { bytes, preview } = auditPreview(answer);
  return { resultBytes: bytes, result: preview };
}

/**
 * Sends an upstream's progress on to the agent under the agent's own token, when it asked for it;
 * the upstream gets the gateway's token (upstream-progress.ts) and the message is cleaned as
 * output. `settled()` is awaited before the answer (a notification sent after it finds the stream
 * closed); it also stops the routing, as `release()` does on failure.
 */
export function forwardProgress(
  client: object,
  token: string | number | undefined,
  send: Parameters<Parameters<Server['setRequestHandler']>[1]>[1]['sendNotification'],
  /** Undefined for a private or secret source: its progress text is that data, so only numbers pass. */
  scrub: ((text: string) => string) | undefined,
  /** For an open-world source: taints the run before its first progress text passes. */
  gate?: ReturnType<typeof taintBeforeText>,
): {
  params: { _meta?: { progressToken: string } };
  settled: () => Promise<unknown>;
  release: () => void;
  /** The progress text the agent was shown so far, as it read it. */
  shown: () => string;
} {
  const sent: Promise<unknown>[] = [];
  // The messages of one request are read joined (inspect/progress.ts).
  const clean = scrub ? progressCleaner(scrub) : undefined;
  const route =
    token === undefined
      ? undefined
      : routeProgress(client, (p) => {
          const message = clean?.(p.message);
          const notify = (text: string | undefined) =>
            send({
              method: 'notifications/progress',
              params: {
                progressToken: token,
                progress: p.progress,
                ...(p.total !== undefined ? { total: p.total } : {}),
                ...(text !== undefined ? { message: text } : {}),
              },
            }).catch(() => undefined);
          sent.push(gate ? gate.pass(message, notify) : notify(message));
        });
  const release = () => route?.release();
  return {
    params: route ? { _meta: { progressToken: route.token } } : {},
    settled: () => {
      release();
      return Promise.all(sent);
    },
    release,
    shown: () => clean?.shown() ?? '',
  };
}
