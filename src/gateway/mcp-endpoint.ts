/**
 * The MCP endpoint agents talk to (`/mcp`, Streamable HTTP, via the SDK).
 *
 * Every request carries the run token; a session is bound to the run that
 * opened it (and to that token), so a session id leaked to another run is
 * useless. Each session gets its own SDK `Server` whose handlers hand the call
 * to the pipeline (mcp-session.ts); the SDK does the JSON-RPC framing and
 * answers malformed input with protocol errors. This file adds what the SDK
 * leaves open: an empty batch and a request id already in flight are refused
 * (a duplicate id would take over the other request's answer).
 *
 * The token is checked against the store when a session opens; later
 * requests of that session present the same token and are matched in memory.
 * The run itself is still read for every call (tool-handlers.ts), so a kill or
 * expiry (also from another replica) takes effect on the very next call.
 *
 * Sessions: at most 16 per run, the least recently used idle one reclaimed at
 * the limit (session-table.ts). A session this process does not hold (a
 * restart, another replica) is reopened for the run it belongs to
 * (session-resume.ts).
 */
import type { HttpBindings } from '@hono/node-server';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import { bearer, sameToken, unauthorized } from './bearer.js';
import type { Catalog } from './catalog.js';
import { HeldAnswer } from './held-answer.js';
import { answerResumed, heldIdsOf } from './held-resume.js';
import {
  cancelledKeys,
  jsonRpcError,
  readJsonRpcBody,
  refuseBatch,
  requestKeys,
  sdkReadsBody,
} from './jsonrpc-framing.js';
import { openSession, type Session } from './mcp-session.js';
import { type PassthroughDeps, seesOffered } from './passthrough.js';
import { belongsTo, initializeOnBehalf } from './session-resume.js';
import { SessionTable, withdrawn } from './session-table.js';
import { requestKey } from './session-transport.js';

export { MAX_SESSIONS_PER_RUN, SESSION_IDLE_MS } from './session-table.js';

export interface McpEndpointDeps {
  policy: Policy;
  runs: RunService;
  catalog: Catalog;
  pipeline: Pipeline;
  events: EventWriter;
  logger: Logger;
  now: () => number;
  /** The `WWW-Authenticate` value of a 401 (names the OAuth metadata when OAuth is on). */
  challenge?: () => string;
  /** Upstream resources and prompts, offered to sessions whose profile lists any. */
  passthrough?: PassthroughDeps;
}

export class McpEndpoint {
  private readonly sessions: SessionTable;
  /** Sessions being reopened (session-resume.ts), by id. */
  private readonly reopening = new Map<string, Promise<Session | Response | undefined>>();

  constructor(private readonly deps: McpEndpointDeps) {
    this.sessions = new SessionTable(deps);
  }

  /**
   * `node`: node's request and response when node serves the endpoint: a call's body is read from
   * the request, and a long answer's bytes are pooled until the response has sent them.
   */
  async handle(request: Request, node?: Partial<HttpBindings>): Promise<Response> {
    const token = bearer(request.headers.get('authorization'));
    if (!token) return unauthorized(this.deps.challenge?.());
    const sessionId = request.headers.get('mcp-session-id');
    let session = sessionId ? this.sessions.get(sessionId) : undefined;
    if (!session || !sameToken(session.token, token)) {
      // Unknown session, or another token: the store decides. The same 404 for "no such
      // session" and "another run's session", so there is nothing to probe.
      const run = await this.deps.runs.authenticate(token);
      if (!run) return unauthorized(this.deps.challenge?.());
      if (sessionId) {
        // Unknown here (a restart, another replica): reopened when it is this run's.
        if (!session) {
          const reopened = await this.reopen(sessionId, run, token, request);
          if (reopened instanceof Response) return reopened;
          session = reopened;
        }
        if (!session || session.runId !== run.id) return jsonRpcError(404, -32001, 'Session not found');
      } else session = undefined;
      if (session) session.token = Buffer.from(token);
      if (!session) return this.open(request, run, token, node);
    }
    session.lastSeen = this.deps.now();
    const resumed = request.method === 'GET' && this.answerCutHeld(session, request);
    if (resumed) return resumed;
    // What the SDK refuses on its headers alone (406, 415), it refuses before any body is read.
    if (request.method !== 'POST' || !sdkReadsBody(request)) return session.transport.handleRequest(request);
    const parsed = await readJsonRpcBody(request, this.deps.policy.gateway.max_body, node?.incoming);
    if (parsed instanceof Response) return parsed;
    const refused = refuseBatch(parsed, session.transport.inFlight);
    if (refused) return refused;
    const keys = requestKeys(parsed);
    for (const key of keys) session.transport.inFlight.add(key);
    for (const cancelled of cancelledKeys(parsed)) session.transport.inFlight.delete(cancelled);
    const forget = () => {
      for (const key of keys) session.transport.inFlight.delete(key);
    };
    let response: Response;
    try {
      response = await this.answer(session, request, parsed, node);
    } catch (error) {
      // Nothing will answer these ids: left in flight they would refuse every reuse as a
      // duplicate and keep the session from ever being reclaimed.
      forget();
      throw error;
    }
    // Refused by the SDK before any handler ran: nothing will answer these ids.
    if (response.status !== 200) forget();
    return response;
  }

  private async open(
    request: Request,
    run: Run,
    token: string,
    node?: Partial<HttpBindings>,
  ): Promise<Response> {
    if (request.method !== 'POST')
      return jsonRpcError(400, -32000, 'Bad Request: no session; send initialize first');
    let parsed: unknown;
    if (sdkReadsBody(request)) {
      parsed = await readJsonRpcBody(request, this.deps.policy.gateway.max_body, node?.incoming);
      if (parsed instanceof Response) return parsed;
      const refused = refuseBatch(parsed, new Set());
      if (refused) return refused;
    }
    if (!this.sessions.makeRoom(run.id))
      return jsonRpcError(429, -32000, 'Too many busy sessions for this run');
    const session = this.openSession(run, token);
    const response = await session.transport.handleRequest(
      request,
      parsed === undefined ? undefined : { parsedBody: parsed },
    );
    if (!session.transport.sessionId) {
      // Not an initialize request (or a malformed one): nothing was opened, release it.
      await session.server.close().catch(() => undefined);
    }
    return response;
  }

  /**
   * A session this process does not hold, reopened under its id for the run it belongs to
   * (session-resume.ts); undefined when it is another run's or is being closed, 429 when the run
   * has 16 sessions busy.
   */
  private reopen(
    sessionId: string,
    run: Run,
    token: string,
    request: Request,
  ): Promise<Session | Response | undefined> {
    if (request.method === 'DELETE' || !belongsTo(sessionId, run.id)) return Promise.resolve(undefined);
    // Requests that arrive together (a client's stream and its next call) share one reopening.
    let reopening = this.reopening.get(sessionId);
    if (!reopening) {
      reopening = this.reopenOnce(sessionId, run, token, request);
      this.reopening.set(sessionId, reopening);
      const done = () => this.reopening.delete(sessionId);
      reopening.then(done, done);
    }
    return reopening;
  }

  private async reopenOnce(
    sessionId: string,
    run: Run,
    token: string,
    request: Request,
  ): Promise<Session | Response | undefined> {
    if (!this.sessions.makeRoom(run.id))
      return jsonRpcError(429, -32000, 'Too many busy sessions for this run');
    const session = this.openSession(run, token, sessionId);
    if (await initializeOnBehalf(session.transport, sessionId, request)) {
      this.deps.logger.info(
        { runId: run.id, sessionId },
        'reopened an MCP session this process did not hold',
      );
      return session;
    }
    await session.server.close().catch(() => undefined);
    return undefined;
  }

  /**
   * A client reconnecting a held call's cut stream (held-resume.ts): calls this process does not
   * have in flight are answered as a shutdown answers them; undefined for any other GET.
   */
  private answerCutHeld(session: Session, request: Request): Response | undefined {
    const ids = heldIdsOf(request.headers.get('last-event-id'));
    if (!ids || ids.some((id) => session.transport.inFlight.has(requestKey(id)))) return undefined;
    this.deps.logger.info(
      { runId: session.runId, sessionId: session.id, ids },
      'answered held calls whose stream was cut (the gateway that held them is gone)',
    );
    return answerResumed(ids, withdrawn, session.id);
  }

  /**
   * Hands a request to the session's transport with a `HeldAnswer` the call handler finds in
   * `extra.authInfo`: it sees the caller leave, and a held call upgrades a plain-JSON answer to a
   * stream (held-answer.ts). In SSE mode the SDK streams already; only the leaving is used.
   */
  private answer(
    session: Session,
    request: Request,
    parsed: unknown,
    node?: Partial<HttpBindings>,
  ): Promise<Response> {
    const streams = this.deps.policy.gateway.stream_responses;
    const held = new HeldAnswer(request, () => session.transport.sessionId, node?.outgoing, !streams);
    session.held.add(held);
    const sdk = session.transport.handleRequest(request, {
      parsedBody: parsed,
      authInfo: { token: '', clientId: session.runId, scopes: [], extra: { held } },
    });
    const forget = () => session.held.delete(held);
    sdk.then(forget, forget);
    return streams ? sdk : held.answer(sdk);
  }

  /** Tells the sessions whose profile sees `upstream`'s prompts or resources that their list changed. */
  offeredChanged(upstream: string, what: 'prompts' | 'resources'): void {
    for (const s of this.sessions.values()) {
      const profile = this.deps.policy.profiles[s.profile];
      if (!profile || !seesOffered(profile, upstream, what)) continue;
      const sent = what === 'prompts' ? s.server.sendPromptListChanged() : s.server.sendResourceListChanged();
      sent.catch(() => undefined);
    }
  }

  /** Tells open sessions (all, or those of the given profiles) that their tool list may have changed. */
  toolsChanged(profiles?: ReadonlySet<string>): void {
    for (const session of this.sessions.values()) {
      if (profiles && !profiles.has(session.profile)) continue;
      session.server.sendToolListChanged().catch(() => undefined);
    }
  }

  /** Closes the sessions of an ended run once each has been quiet for `graceMs` (session-table.ts). */
  closeRunWhenQuiet(runId: string, graceMs: number): void {
    this.sessions.closeRunWhenQuiet(runId, graceMs);
  }

  /** Closes every session of a run (after a kill, the agent's streams end too). */
  closeRun(runId: string): Promise<void> {
    return this.sessions.closeRun(runId);
  }

  close(): Promise<void> {
    return this.sessions.close();
  }

  sessionCount(): number {
    return this.sessions.count();
  }

  sessionsOf(runId: string): number {
    return this.sessions.sessionsOf(runId);
  }

  /** Open sessions, and what their SDK transports still hold (flat when nothing leaks). */
  stats(): { sessions: number; inFlight: number; retained: number | undefined } {
    return this.sessions.stats();
  }

  /** `sessionId`: the id to reopen the session under; a new one when absent. */
  private openSession(run: Run, token: string, sessionId?: string): Session {
    return openSession(this.deps, this.sessions, run, token, sessionId);
  }
}
