/**
 * The tools an agent's MCP session offers: `tools/list` (its profile's tools,
 * none once the run has ended) and `tools/call`, which becomes a `ToolCall`
 * for the decision pipeline. The run is read for every call, so a kill or
 * expiry takes effect on the very next one; the call's signal ends when the
 * client cancels or the run ends.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { denial, isBulkheadError } from '../errors.js';
import type { EventWriter } from '../events/writer.js';
import { denialResult, type Pipeline } from '../pipeline/pipeline.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import { linkedSignal } from '../util/linked-signal.js';
import type { Catalog } from './catalog.js';
import type { DroppedKeys } from './dropped-keys.js';
import { HeldAnswer } from './held-answer.js';
import { HandledToolCall } from './tool-call.js';

export interface ToolHandlerDeps {
  policy: Policy;
  runs: RunService;
  catalog: Catalog;
  pipeline: Pipeline;
  events: EventWriter;
  now: () => number;
}

/** Installs the tool handlers of one run's session; call before `server.connect()`. */
export function registerToolHandlers(
  server: Server,
  deps: ToolHandlerDeps,
  runId: string,
  dropped: DroppedKeys,
): void {
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const run = await deps.runs.get(runId);
    const profile = run ? deps.policy.profiles[run.profile] : undefined;
    const active = run?.state === 'active';
    const tools = active && profile ? deps.catalog.forProfile(profile.tools).map((t) => t.definition) : [];
    await deps.events.write({
      kind: 'tools/list',
      runId,
      decision: active ? 'allow' : 'deny',
      code: active ? null : 'run_not_active',
      actor: `run:${runId}`,
      data: { count: tools.length },
    });
    return { tools };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    let run: Run | undefined;
    try {
      run = await deps.runs.get(runId);
    } catch (error) {
      // A store that cannot be read (locked, unreachable): refused in the denial shape, not a
      // JSON-RPC internal error carrying the driver's message (which names the database host).
      if (!isBulkheadError(error, 'store_unavailable')) throw error;
      return denialResult(
        denial('store_unavailable', 'The gateway cannot record this call right now; it was not run.'),
      );
    }
    const profile = run ? deps.policy.profiles[run.profile] : undefined;
    if (!run || !profile) throw new Error('run vanished');
    const progressToken = request.params._meta?.progressToken;
    // The endpoint passes the HTTP request's HeldAnswer through the SDK's authInfo (mcp-endpoint.ts).
    const held = extra.authInfo?.extra?.held instanceof HeldAnswer ? extra.authInfo.extra.held : undefined;
    held?.track(extra.requestId);
    // Not AbortSignal.any(): on Node 20 it leaks one entry per call into the run's signal.
    const link = linkedSignal([extra.signal, deps.runs.signal(runId)]);
    const call = new HandledToolCall({
      run,
      profile,
      name: request.params.name,
      rawArgs: request.params.arguments,
      droppedKey: dropped.take(extra.requestId),
      signal: link.signal,
      startedAt: deps.now(),
      held,
      progress:
        progressToken === undefined
          ? undefined
          : (progress: number, message?: string, total?: number) => {
              const notification = {
                method: 'notifications/progress' as const,
                params: {
                  progressToken,
                  progress,
                  ...(total !== undefined ? { total } : {}),
                  ...(message ? { message } : {}),
                },
              };
              // A held plain-JSON answer became a stream: progress goes there.
              if (held?.notify({ jsonrpc: '2.0', ...notification })) return Promise.resolve();
              return extra.sendNotification(notification);
            },
    });
    try {
      const outcome = await deps.pipeline.call(call);
      // Its long strings go around the SDK's serialising when the answer can take them back.
      return held ? held.putAside(outcome.result) : outcome.result;
    } finally {
      link.release();
    }
  });
}
