/**
 * The MCP endpoint agents talk to (`/mcp`, Streamable HTTP, via the SDK).
 *
 * Every request carries the run token; a session is bound to the run that
 * opened it (and to that token), so a session id leaked to another run is
 * useless. Each session gets its own SDK `Server` whose handlers hand the call
 * to the pipeline; the SDK does the JSON-RPC framing and answers malformed
 * input with protocol errors. This file adds what the SDK leaves open: an
 * empty batch and a request id already in flight are refused (a duplicate id
 * would take over the other request's answer).
 *
 * The token is checked against the store when a session opens; later
 * requests of that session present the same token and are matched in memory.
 * The run itself is still read for every call (tool-handlers.ts), so a kill or
 * expiry (also from another replica) takes effect on the very next call.
 *
 * Sessions: at most 16 per run. Agents open and drop sessions without saying
 * so (the SDK's `close()` sends no DELETE), so a run at the limit reclaims its
 * least recently used session that has nothing in flight rather than being
 * locked out; only 16 sessions all busy at once are refused. A session this
 * process does not hold (a restart, another replica) is reopened for the run
 * it belongs to (session-resume.ts).
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { denial } from '../errors.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { denialResult } from '../pipeline/pipeline.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import { bearer, sameToken, unauthorized } from './bearer.js';
import type { Catalog } from './catalog.js';
import { watchDroppedKeys } from './dropped-keys.js';
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
import { type PassthroughDeps, seesOffered } from './passthrough.js';
import { registerPromptHandlers } from './prompts.js';
import { registerResourceHandlers } from './resources.js';
import { belongsTo, initializeOnBehalf, newSessionId } from './session-resume.js';
import { requestKey, SessionTransport } from './session-transport.js';
import { registerToolHandlers } from './tool-handlers.js';

export const MAX_SESSIONS_PER_RUN = 16;

/** The answer of a held call its gateway stopped holding (a shutdown, a restart). */
function withdrawn(requestId: RequestId): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id: requestId,
    result: denialResult(
      denial(
        'approval_withdrawn',
        'The gateway stopped while this call waited; its approval stays open for an identical retry.',
      ),
    ),
  };
}
export const SESSION_IDLE_MS = 30 * 60_000;

interface Session {
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
  private readonly sessions = new Map<string, Session>();
  /** Sessions being reopened (session-resume.ts), by id. */
  private readonly reopening = new Map<string, Promise<Session | Response | undefined>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly deps: McpEndpointDeps) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async handle(request: Request): Promise<Response> {
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
      if (!session) return this.open(request, run, token);
    }
    session.lastSeen = this.deps.now();
    const resumed = request.method === 'GET' && this.answerCutHeld(session, request);
    if (resumed) return resumed;
    // What the SDK refuses on its headers alone (406, 415), it refuses before any body is read.
    if (request.method !== 'POST' || !sdkReadsBody(request)) return session.transport.handleRequest(request);
    const parsed = await readJsonRpcBody(request, this.deps.policy.gateway.max_body);
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
      response = await this.answer(session, request, parsed);
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

  private async open(request: Request, run: Run, token: string): Promise<Response> {
    if (request.method !== 'POST')
      return jsonRpcError(400, -32000, 'Bad Request: no session; send initialize first');
    let parsed: unknown;
    if (sdkReadsBody(request)) {
      parsed = await readJsonRpcBody(request, this.deps.policy.gateway.max_body);
      if (parsed instanceof Response) return parsed;
      const refused = refuseBatch(parsed, new Set());
      if (refused) return refused;
    }
    if (!this.makeRoom(run.id)) return jsonRpcError(429, -32000, 'Too many busy sessions for this run');
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
    if (!this.makeRoom(run.id)) return jsonRpcError(429, -32000, 'Too many busy sessions for this run');
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
  private answer(session: Session, request: Request, parsed: unknown): Promise<Response> {
    const held = new HeldAnswer(request, () => session.transport.sessionId);
    session.held.add(held);
    const sdk = session.transport.handleRequest(request, {
      parsedBody: parsed,
      authInfo: { token: '', clientId: session.runId, scopes: [], extra: { held } },
    });
    const forget = () => session.held.delete(held);
    sdk.then(forget, forget);
    return this.deps.policy.gateway.stream_responses ? sdk : held.answer(sdk);
  }

  /**
   * Keeps a run under its session limit: at the limit, the least recently used
   * session with nothing in flight is closed (an agent that dropped it will not
   * miss it; one that comes back has it reopened, session-resume.ts). False when
   * every session is busy.
   */
  private makeRoom(runId: string): boolean {
    let count = 0;
    let oldest: Session | undefined;
    for (const s of this.sessions.values()) {
      if (s.runId !== runId) continue;
      count++;
      if (s.transport.inFlight.size === 0 && (!oldest || s.lastSeen < oldest.lastSeen)) oldest = s;
    }
    if (count < MAX_SESSIONS_PER_RUN) return true;
    if (!oldest) return false;
    this.deps.logger.debug({ runId, sessionId: oldest.id }, 'reclaiming the least recently used session');
    void this.closeSession(oldest.id);
    return true;
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

  /**
   * Closes the sessions of an ended run once each has been quiet for `graceMs`
   * with nothing in flight: the refusals of calls still arriving reach the
   * agent as refusals, not as a dropped session, and then its streams end.
   */
  closeRunWhenQuiet(runId: string, graceMs: number): void {
    const check = () => {
      let waiting = false;
      for (const s of [...this.sessions.values()]) {
        if (s.runId !== runId) continue;
        if (s.transport.inFlight.size === 0 && this.deps.now() - s.lastSeen >= graceMs) {
          void this.closeSession(s.id);
        } else waiting = true;
      }
      if (waiting) setTimeout(check, graceMs).unref();
    };
    setTimeout(check, graceMs).unref();
  }

  /** Closes every session of a run (after a kill, the agent's streams end too). */
  async closeRun(runId: string): Promise<void> {
    await Promise.all(
      [...this.sessions.values()].filter((s) => s.runId === runId).map((s) => this.closeSession(s.id)),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.keys()].map((id) => this.closeSession(id)));
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  sessionsOf(runId: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.runId === runId) n++;
    return n;
  }

  /** Open sessions, and what their SDK transports still hold (flat when nothing leaks). */
  stats(): { sessions: number; inFlight: number; retained: number | undefined } {
    let inFlight = 0;
    let retained: number | undefined = 0;
    for (const s of this.sessions.values()) {
      inFlight += s.transport.inFlight.size;
      const held = s.transport.retained();
      retained = held === undefined || retained === undefined ? undefined : retained + held;
    }
    return { sessions: this.sessions.size, inFlight, retained };
  }

  /** `sessionId`: the id to reopen the session under; a new one when absent. */
  private openSession(run: Run, token: string, sessionId?: string): Session {
    const server = new Server(
      { name: 'bulkhead', version: '0.1.0' },
      {
        capabilities: { tools: { listChanged: true }, ...this.passthroughCapabilities(run) },
        instructions: 'Tools are provided through bulkhead; refusals carry a code explaining why.',
      },
    );
    const session: Session = {
      id: '',
      runId: run.id,
      profile: run.profile,
      token: Buffer.from(token),
      server,
      lastSeen: this.deps.now(),
      held: new Set(),
      transport: new SessionTransport({
        sessionIdGenerator: () => sessionId ?? newSessionId(run.id),
        onsessioninitialized: (id) => {
          session.id = id;
          this.sessions.set(id, session);
        },
        onsessionclosed: (id) => {
          this.sessions.delete(id);
        },
        maxRequestBodySize: this.deps.policy.gateway.max_body,
        // Plain JSON answers cost ~1 ms less per call than an SSE stream; streaming is
        // only needed to send progress notifications while a call waits (approvals).
        enableJsonResponse: !this.deps.policy.gateway.stream_responses,
      }),
    };
    server.onclose = () => {
      if (session.id) this.sessions.delete(session.id);
    };
    server.onerror = (error) => this.deps.logger.debug({ err: error, runId: run.id }, 'mcp session error');
    // Installed before connect(): the SDK keeps a handler set earlier and runs it first.
    const dropped = watchDroppedKeys(session.transport);
    registerToolHandlers(server, this.deps, run.id, dropped);
    const passthrough = this.deps.passthrough;
    const offered = this.passthroughCapabilities(run);
    if (passthrough && offered.resources) registerResourceHandlers(server, passthrough, run.id);
    if (passthrough && offered.prompts) registerPromptHandlers(server, passthrough, run.id, dropped);
    void server.connect(session.transport);
    return session;
  }

  /** Resources and prompts are off unless the run's profile lists some: otherwise -32601, as before. */
  private passthroughCapabilities(run: Run): { resources?: object; prompts?: object } {
    if (!this.deps.passthrough) return {};
    const profile = this.deps.policy.profiles[run.profile];
    return {
      ...(profile?.resources.length ? { resources: { listChanged: true } } : {}),
      ...(profile?.prompts.length ? { prompts: { listChanged: true } } : {}),
    };
  }

  private async closeSession(id: string): Promise<void> {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    // Held calls streaming an answer get one before their stream ends (held-answer.ts).
    for (const held of session?.held ?? []) held.interrupt(withdrawn);
    await session?.server.close().catch(() => undefined);
  }

  private sweep(): void {
    const cutoff = this.deps.now() - SESSION_IDLE_MS;
    for (const [id, session] of this.sessions) if (session.lastSeen < cutoff) void this.closeSession(id);
  }
}
