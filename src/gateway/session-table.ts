/**
 * The MCP endpoint's open sessions (mcp-endpoint.ts), by id, with their limits and their ends.
 *
 * At most 16 sessions per run. Agents open and drop sessions without saying so (the SDK's
 * `close()` sends no DELETE), so a run at the limit reclaims its least recently used session
 * that has nothing in flight rather than being locked out; only 16 sessions all busy at once are
 * refused. A session idle for 30 minutes is closed by the sweeper; the sessions of an ended run
 * close once quiet, those of a killed run at once. A closing session first answers its held calls
 * (held-answer.ts). Kept apart from the endpoint so the request handling reads without the
 * bookkeeping of who holds how many sessions.
 */
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { denial } from '../errors.js';
import type { Logger } from '../log.js';
import { denialResult } from '../pipeline/pipeline.js';
import type { Session, SessionHome } from './mcp-session.js';

export const MAX_SESSIONS_PER_RUN = 16;
export const SESSION_IDLE_MS = 30 * 60_000;

/** The answer of a held call its gateway stopped holding (a shutdown, a restart). */
export function withdrawn(requestId: RequestId): JSONRPCMessage {
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

export class SessionTable implements SessionHome {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly deps: { logger: Logger; now: () => number }) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  add(session: Session): void {
    this.sessions.set(session.id, session);
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /**
   * Keeps a run under its session limit: at the limit, the least recently used
   * session with nothing in flight is closed (an agent that dropped it will not
   * miss it; one that comes back has it reopened, session-resume.ts). False when
   * every session is busy.
   */
  makeRoom(runId: string): boolean {
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

  count(): number {
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
