/**
 * Dashboard sessions: an operator signs in once with their operator token and
 * the browser then holds only a random session id in an HttpOnly cookie, so
 * page scripts (and anything injected into them) never see the token.
 *
 * With a store, sign-ins are written through to it and read back by any
 * replica (`hydrate`, before each request that carries a cookie), so an
 * operator is served by whichever replica a load balancer picks, and a
 * sign-out on one replica ends the session on all. Without one they live in
 * this gateway's memory only. A session ends at the first of: sign-out, `idleMs` without a
 * request, `maxAgeMs` after sign-in. Each carries its own CSRF token (a
 * synchroniser token) that state-changing requests must echo in a header.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Operator } from '../gateway/operators.js';
import type { SessionStore } from '../store/store.js';

export interface Session {
  operator: Operator;
  csrf: string;
  createdAt: number;
  lastSeen: number;
  expiresAt: number;
}

export interface SessionOptions {
  now?: () => number;
  idleMs?: number;
  maxAgeMs?: number;
  /** Oldest sessions are dropped beyond this, so sign-in floods cannot grow memory without bound. */
  maxSessions?: number;
  /** Shared sign-ins (the gateway's store); memory only when absent. */
  store?: SessionStore;
}

/** How stale the shared `lastSeen` may get before a request refreshes it. */
const TOUCH_EVERY_MS = 60_000;

export class Sessions {
  /** Keyed by the SHA-256 of the id: a heap dump does not hand out live cookies. */
  private readonly byHash = new Map<string, Session>();
  private readonly now: () => number;
  readonly idleMs: number;
  readonly maxAgeMs: number;
  private readonly maxSessions: number;

  constructor(private readonly options: SessionOptions = {}) {
    this.now = options.now ?? Date.now;
    this.idleMs = options.idleMs ?? 2 * 60 * 60 * 1000;
    this.maxAgeMs = options.maxAgeMs ?? 12 * 60 * 60 * 1000;
    this.maxSessions = options.maxSessions ?? 10_000;
  }

  /**
   * A new session, in the store before the cookie is handed out: another replica asked
   * with it at once must know it. A store that cannot take it fails the sign-in.
   */
  async create(operator: Operator): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const at = this.now();
    const session: Session = {
      operator,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: at,
      lastSeen: at,
      expiresAt: at + this.maxAgeMs,
    };
    if (this.byHash.size >= this.maxSessions) {
      const oldest = this.byHash.keys().next();
      if (!oldest.done) this.byHash.delete(oldest.value);
    }
    const hash = digest(id);
    await this.options.store?.put({
      hash,
      operator: JSON.stringify({ name: operator.name, roles: operator.roles }),
      csrf: session.csrf,
      createdAt: at,
      lastSeen: at,
      expiresAt: session.expiresAt,
    });
    this.byHash.set(hash, session);
    return { id, session };
  }

  /**
   * Brings this replica's view of `id` in line with the store: a sign-in made elsewhere
   * is loaded, one ended elsewhere is forgotten. Call before `get` on each request.
   */
  async hydrate(id: string | undefined): Promise<void> {
    const store = this.options.store;
    if (!store || !id) return;
    const hash = digest(id);
    const row = await store.get(hash);
    if (!row) {
      this.byHash.delete(hash);
      return;
    }
    const cached = this.byHash.get(hash);
    const lastSeen = Math.max(cached?.lastSeen ?? 0, row.lastSeen);
    const operator = JSON.parse(row.operator) as Operator;
    this.byHash.set(hash, {
      operator: { name: String(operator.name), roles: [...(operator.roles ?? [])].map(String) },
      csrf: row.csrf,
      createdAt: row.createdAt,
      lastSeen,
      expiresAt: row.expiresAt,
    });
    if (this.now() - row.lastSeen >= TOUCH_EVERY_MS) await store.touch(hash, this.now());
  }

  /** The live session for `id`, refreshed; undefined (and forgotten) once expired. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const key = digest(id);
    const session = this.byHash.get(key);
    if (!session) return undefined;
    const at = this.now();
    if (at >= session.expiresAt || at - session.lastSeen >= this.idleMs) {
      this.byHash.delete(key);
      return undefined;
    }
    session.lastSeen = at;
    return session;
  }

  /** Ends a session here and in the store, so no replica accepts it once this resolves. */
  async end(id: string | undefined): Promise<void> {
    if (!id) return;
    const hash = digest(id);
    this.byHash.delete(hash);
    await this.options.store?.delete(hash);
  }

  get size(): number {
    return this.byHash.size;
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(digest(presented), 'hex');
  const b = Buffer.from(digest(session.csrf), 'hex');
  return timingSafeEqual(a, b);
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
