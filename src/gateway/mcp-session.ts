/**
 * One agent session of the MCP endpoint (mcp-endpoint.ts): its own SDK `Server`, wired to the
 * pipeline for the run that opened it, on its own transport (session-transport.ts).
 *
 * A session is bound to one run and to the token that opened it: both are fixed here, at
 * construction, and the endpoint serves a request on it only when the request's token matches
 * (or the store says the token is of this same run). The tool handlers are registered for this
 * run's id alone, so a session can never act for another run. Kept apart from the endpoint so
 * the request handling reads without the wiring of a session's handlers.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Logger } from '../log.js';
import type { Run } from '../runs/run.js';
import { dropCancelReasons } from './cancel-reason.js';
import { watchDroppedKeys } from './dropped-keys.js';
import type { HeldAnswer } from './held-answer.js';
import type { PassthroughDeps } from './passthrough.js';
import { registerPromptHandlers } from './prompts.js';
import { registerResourceHandlers } from './resources.js';
import { newSessionId } from './session-resume.js';
import { SessionTransport } from './session-transport.js';
import { registerToolHandlers, type ToolHandlerDeps } from './tool-handlers.js';

export interface Session {
  id: string;
  runId: string;
  /** The run's profile, so a policy reload tells only the sessions whose tools changed. */
  profile: string;
  /** The bearer token that opened it: later requests must present the same one. */
  token: Buffer;
  server: Server;
  transport: SessionTransport;
  lastSeen: number;
  /** Requests in flight, so a closing session can still answer its held calls. */
  held: Set<HeldAnswer>;
}

export interface SessionDeps extends ToolHandlerDeps {
  logger: Logger;
  /** Upstream resources and prompts, offered to sessions whose profile lists any. */
  passthrough?: PassthroughDeps;
}

/** Where a session is kept once its transport has an id, and forgotten when it closes (session-table.ts). */
export interface SessionHome {
  add(session: Session): void;
  remove(id: string): void;
}

/** `sessionId`: the id to reopen the session under; a new one when absent. */
export function openSession(
  deps: SessionDeps,
  home: SessionHome,
  run: Run,
  token: string,
  sessionId?: string,
): Session {
  const server = new Server(
    { name: 'bulkhead', version: '0.1.0' },
    {
      capabilities: { tools: { listChanged: true }, ...passthroughCapabilities(deps, run) },
      instructions: 'Tools are provided through bulkhead; refusals carry a code explaining why.',
    },
  );
  const session: Session = {
    id: '',
    runId: run.id,
    profile: run.profile,
    token: Buffer.from(token),
    server,
    lastSeen: deps.now(),
    held: new Set(),
    transport: new SessionTransport({
      sessionIdGenerator: () => sessionId ?? newSessionId(run.id),
      onsessioninitialized: (id) => {
        session.id = id;
        home.add(session);
      },
      onsessionclosed: (id) => {
        home.remove(id);
      },
      maxRequestBodySize: deps.policy.gateway.max_body,
      // Plain JSON answers cost ~1 ms less per call than an SSE stream; streaming is
      // only needed to send progress notifications while a call waits (approvals).
      enableJsonResponse: !deps.policy.gateway.stream_responses,
    }),
  };
  server.onclose = () => {
    if (session.id) home.remove(session.id);
  };
  server.onerror = (error) => deps.logger.debug({ err: error, runId: run.id }, 'mcp session error');
  // Installed before connect(): the SDK keeps a handler set earlier and runs it first.
  const dropped = watchDroppedKeys(session.transport);
  dropCancelReasons(session.transport);
  registerToolHandlers(server, deps, run.id, dropped);
  const passthrough = deps.passthrough;
  const offered = passthroughCapabilities(deps, run);
  if (passthrough && offered.resources) registerResourceHandlers(server, passthrough, run.id);
  if (passthrough && offered.prompts) registerPromptHandlers(server, passthrough, run.id, dropped);
  void server.connect(session.transport);
  return session;
}

/** Resources and prompts are off unless the run's profile lists some: otherwise -32601, as before. */
function passthroughCapabilities(deps: SessionDeps, run: Run): { resources?: object; prompts?: object } {
  if (!deps.passthrough) return {};
  const profile = deps.policy.profiles[run.profile];
  return {
    ...(profile?.resources.length ? { resources: { listChanged: true } } : {}),
    ...(profile?.prompts.length ? { prompts: { listChanged: true } } : {}),
  };
}
