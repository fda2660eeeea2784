/**
 * The MCP endpoint agents talk to (`/mcp`, Streamable HTTP, via the SDK).
 *
 * Every request carries the run token; a session is bound to the run that
 * opened it, so a session id leaked to another run is useless. Each session
 * gets its own SDK `Server` whose handlers hand the call to the pipeline; the
 * SDK does all JSON-RPC framing and answers malformed input with protocol
 * errors.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { denial } from '../errors.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { denialResult } from '../pipeline/pipeline.js';
import type { ToolCall } from '../pipeline/stage.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Catalog } from './catalog.js';
import { HeldAnswer } from './held-answer.js';

export const MAX_SESSIONS_PER_RUN = 16;
export const SESSION_IDLE_MS = 30 * 60_000;

interface Session {
  id: string;
  runId: string;
  /** The run's profile, so a policy reload tells only the sessions whose tools changed. */
  profile: string;
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
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
}

export class McpEndpoint {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly deps: McpEndpointDeps) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async handle(request: Request): Promise<Response> {
    const token = bearer(request.headers.get('authorization'));
    const run = token ? await this.deps.runs.authenticate(token) : undefined;
    if (!run) {
      return new Response(
        JSON.stringify({ error: 'unauthorized', message: 'A valid run token is required.' }),
        {
          status: 401,
          headers: {
            'content-type': 'application/json',
            'www-authenticate': this.deps.challenge?.() ?? 'Bearer realm="bulkhead"',
          },
        },
      );
    }
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      // Same answer for "no such session" and "another run's session": nothing to probe.
      if (!session || session.runId !== run.id) return jsonRpcError(404, -32001, 'Session not found');
      session.lastSeen = this.deps.now();
      return this.answer(session, request);
    }
    if (request.method !== 'POST')
      return jsonRpcError(400, -32000, 'Bad Request: no session; send initialize first');
    if (this.countSessions(run.id) >= MAX_SESSIONS_PER_RUN) {
      return jsonRpcError(429, -32000, 'Too many open sessions for this run');
    }
    const session = this.openSession(run);
    const response = await session.transport.handleRequest(request);
    if (!session.transport.sessionId) {
      // Not an initialize request (or a malformed one): nothing was opened, release it.
      await session.server.close().catch(() => undefined);
    }
    return response;
  }

  /**
   * Hands a request to the session's transport with a `HeldAnswer` the call handler finds in
   * `extra.authInfo`: it sees the caller leave, and a held call upgrades a plain-JSON answer to a
   * stream (held-answer.ts). In SSE mode the SDK streams already; only the leaving is used.
   */
  private answer(session: Session, request: Request): Promise<Response> {
    if (request.method !== 'POST') return session.transport.handleRequest(request);
    const held = new HeldAnswer(request, () => session.transport.sessionId);
    session.held.add(held);
    const sdk = session.transport.handleRequest(request, {
      authInfo: { token: '', clientId: session.runId, scopes: [], extra: { held } },
    });
    const forget = () => session.held.delete(held);
    sdk.then(forget, forget);
    return this.deps.policy.gateway.stream_responses ? sdk : held.answer(sdk);
  }

  /** Tells open sessions (all, or those of the given profiles) that their tool list may have changed. */
  toolsChanged(profiles?: ReadonlySet<string>): void {
    for (const session of this.sessions.values()) {
      if (profiles && !profiles.has(session.profile)) continue;
      session.server.sendToolListChanged().catch(() => undefined);
    }
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

  private countSessions(runId: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.runId === runId) n++;
    return n;
  }

  private openSession(run: Run): Session {
    const server = new Server(
      { name: 'bulkhead', version: '0.1.0' },
      {
        capabilities: { tools: { listChanged: true } },
        instructions: 'Tools are provided through bulkhead; refusals carry a code explaining why.',
      },
    );
    const session: Session = {
      id: '',
      runId: run.id,
      profile: run.profile,
      server,
      lastSeen: this.deps.now(),
      held: new Set(),
      transport: new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
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
    this.registerHandlers(server, run.id);
    void server.connect(session.transport);
    return session;
  }

  private registerHandlers(server: Server, runId: string): void {
    server.setRequestHandler(ListToolsRequestSchema, async () => {
      const run = await this.deps.runs.get(runId);
      const profile = run ? this.deps.policy.profiles[run.profile] : undefined;
      const active = run?.state === 'active';
      const tools =
        active && profile ? this.deps.catalog.forProfile(profile.tools).map((t) => t.definition) : [];
      await this.deps.events.write({
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
      const run = await this.deps.runs.get(runId);
      const profile = run ? this.deps.policy.profiles[run.profile] : undefined;
      if (!run || !profile) throw new Error('run vanished');
      const progressToken = request.params._meta?.progressToken;
      const held = extra.authInfo?.extra?.held instanceof HeldAnswer ? extra.authInfo.extra.held : undefined;
      held?.track(extra.requestId);
      const call: ToolCall = {
        run,
        profile,
        profileName: run.profile,
        name: request.params.name,
        rawArgs: request.params.arguments,
        signal: AbortSignal.any([extra.signal, this.deps.runs.signal(runId)]),
        startedAt: this.deps.now(),
        flags: [],
        ...(held ? { callerGone: held.gone, onHold: () => held.hold() } : {}),
        ...(progressToken !== undefined
          ? {
              progress: (progress: number, message?: string) => {
                const notification = {
                  method: 'notifications/progress' as const,
                  params: { progressToken, progress, ...(message ? { message } : {}) },
                };
                // A held plain-JSON answer became a stream: progress goes there.
                if (held?.notify({ jsonrpc: '2.0', ...notification })) return Promise.resolve();
                return extra.sendNotification(notification);
              },
            }
          : {}),
      };
      const outcome = await this.deps.pipeline.call(call);
      return outcome.result;
    });
  }

  private async closeSession(id: string): Promise<void> {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    // Held calls streaming an answer get one before their stream ends (held-answer.ts).
    for (const held of session?.held ?? []) {
      held.interrupt((requestId) => ({
        jsonrpc: '2.0',
        id: requestId,
        result: denialResult(
          denial(
            'approval_withdrawn',
            'The gateway stopped while this call waited; its approval stays open for an identical retry.',
          ),
        ),
      }));
    }
    await session?.server.close().catch(() => undefined);
  }

  private sweep(): void {
    const cutoff = this.deps.now() - SESSION_IDLE_MS;
    for (const [id, session] of this.sessions) if (session.lastSeen < cutoff) void this.closeSession(id);
  }
}

export function bearer(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
