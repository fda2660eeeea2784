/**
 * The upstream pool: one live MCP client per upstream. A crashed stdio
 * upstream is restarted with exponential backoff; meanwhile calls fail fast
 * with `upstream_unavailable` instead of hanging. A `tools/list_changed`
 * notification triggers a re-listing, so the catalog never serves a stale
 * definition for long.
 *
 * Upstreams heal and a bad one never takes the rest down:
 * - at start, an upstream that cannot connect within `start_timeout` is down
 *   (reported, its tools absent) and retried in the background; only one
 *   marked `required: true` makes the start fail, after closing every child;
 * - an HTTP upstream that restarted has forgotten our session: the answer
 *   (404) re-initialises the client and the call is sent once more, which is
 *   safe because the server refused it without running it (upstream-call.ts);
 * - an upstream is pinged while idle, so health says `down` when it is
 *   (upstream-pinger.ts).
 */
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  type Tool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { denial } from '../errors.js';
import { stripHidden } from '../inspect/hidden.js';
import type { Logger } from '../log.js';
import type { UpstreamConfig } from '../policy/schema/index.js';
import type { SecretSource } from '../policy/secrets.js';
import type { FetchLike } from './http-fetch.js';
import { type CallDeps, type CallOptions, type CallOutcome, callOnSlot } from './upstream-call.js';
import { connectUpstream, listAllTools, type UpstreamConnection } from './upstream-client.js';
import { IdlePinger } from './upstream-pinger.js';
import {
  coalesced,
  markDown,
  newSlot,
  nextRestartDelay,
  type PreparedUpstream,
  type RetiredUpstream,
  type Slot,
  STDERR_TAIL,
  statusOf,
  type UpstreamState,
  type UpstreamStatus,
} from './upstream-slot.js';
import { connectWithin, startFailure } from './upstream-start.js';
import { UpstreamWarnings } from './upstream-warnings.js';

export type { CallOutcome } from './upstream-call.js';
export type { PreparedUpstream, RetiredUpstream, UpstreamState, UpstreamStatus } from './upstream-slot.js';

export interface PoolOptions {
  upstreams: Record<string, UpstreamConfig>;
  source: SecretSource;
  logger: Logger;
  /** Called after every successful (re)listing of an upstream's tools. */
  onTools: (upstream: string, tools: Tool[]) => void;
  /** The upstream said its prompts or resources changed (`list_changed`). */
  onOfferedChanged?: (upstream: string, what: 'prompts' | 'resources') => Promise<void> | void;
  backoff?: { initialMs: number; maxMs: number };
  /** How often an idle HTTP upstream is pinged (default 5 s). */
  pingMs?: number;
  /** Scrubs upstream output (stderr) before it is put into an error message. */
  scrub: (text: string) => string;
  /** Wraps the fetch for HTTP upstreams (tracing adds the W3C traceparent header), calling `base`. */
  fetch?: (url: string | URL, init?: RequestInit, base?: FetchLike) => Promise<Response>;
  /** A tool's `max_output`: large answers to it are read and cut off the main thread (large-messages.ts). */
  outputLimit?: (upstream: string, tool: string) => number | undefined;
}

export class UpstreamPool {
  private readonly slots = new Map<string, Slot>();
  private stopped = false;
  private readonly warnings: UpstreamWarnings;
  private readonly pinger: IdlePinger;
  /** What a call needs of the pool (upstream-call.ts). */
  private readonly callDeps: CallDeps;
  /** Calls in flight to any upstream: reading answers past their budget is paced when others wait. */
  private inflight = 0;

  constructor(private readonly options: PoolOptions) {
    this.warnings = new UpstreamWarnings(options.logger);
    const lost = (slot: Slot, error: unknown) => this.lost(slot, error);
    const heal = (slot: Slot, stale: UpstreamConnection) => this.heal(slot, stale);
    this.callDeps = { logger: options.logger, lost, heal };
    this.pinger = new IdlePinger({
      slots: () => this.slots.values(),
      stopped: () => this.stopped,
      lost,
      heal,
    });
    for (const [name, config] of Object.entries(options.upstreams))
      this.slots.set(name, newSlot(name, config));
  }

  /**
   * Connects every upstream. One that cannot start is left down and retried in the
   * background; the start fails only for an upstream marked `required: true`.
   */
  async start(): Promise<void> {
    const failures = await Promise.all(
      [...this.slots.values()].map(async (slot) => {
        try {
          await this.connectOrExplain(slot);
          return undefined;
        } catch (error) {
          if (slot.config.required === true) return error;
          this.options.logger.error(
            { upstream: slot.name },
            `${(error as Error).message}\n  starting without it (degraded); retrying in the background`,
          );
          this.scheduleRestart(slot);
          return undefined;
        }
      }),
    );
    const fatal = failures.find((f) => f !== undefined);
    if (fatal) throw fatal;
    this.pinger.start(this.options.pingMs ?? 5_000);
  }

  /**
   * Starts an upstream for a policy reload without serving it yet: its tools
   * reach the catalog only once `install` puts it in the pool. Fails like
   * `start` (the reload then keeps the old policy).
   */
  async prepare(name: string, config: UpstreamConfig): Promise<PreparedUpstream> {
    const slot = newSlot(name, config);
    try {
      await this.connectOrExplain(slot);
    } catch (error) {
      slot.retired = true;
      await slot.connection?.close().catch(() => undefined);
      throw error;
    }
    return { name, slot };
  }

  /** Discards a prepared upstream that a failed reload will not install. */
  async discard(prepared: PreparedUpstream): Promise<void> {
    const slot = prepared.slot as Slot;
    slot.retired = true;
    slot.state = 'stopped';
    await slot.connection?.close().catch(() => undefined);
  }

  /**
   * Puts a prepared upstream in the pool, synchronously (new calls use it from
   * now on), and returns the one it replaces, which keeps serving the calls
   * already running on it until `retire` stops it.
   */
  install(prepared: PreparedUpstream): RetiredUpstream | undefined {
    const previous = this.detach(prepared.name);
    this.slots.set(prepared.name, prepared.slot as Slot);
    return previous;
  }

  /** Takes an upstream out of the pool, synchronously; `retire` stops it once its calls are done. */
  detach(name: string): RetiredUpstream | undefined {
    const slot = this.slots.get(name);
    if (!slot) return undefined;
    this.slots.delete(name);
    slot.retired = true;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    return { name, slot };
  }

  /** Waits (at most `maxWaitMs`) for the calls running on a detached upstream, then stops it. */
  async retire(retired: RetiredUpstream, maxWaitMs: number): Promise<void> {
    const slot = retired.slot as Slot;
    const deadline = Date.now() + maxWaitMs;
    while (slot.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    slot.state = 'stopped';
    await slot.connection?.close().catch(() => undefined);
  }

  /** The upstream names currently in the pool. */
  names(): string[] {
    return [...this.slots.keys()];
  }

  private async connectOrExplain(slot: Slot): Promise<void> {
    try {
      await this.connectWithin(slot);
    } catch (error) {
      this.markDown(slot, error instanceof Error ? error.message : String(error));
      throw startFailure(slot, error, (text) => this.options.scrub(text));
    }
  }

  status(): UpstreamStatus[] {
    return [...this.slots.values()].map(statusOf);
  }

  /** The state of one upstream in the pool; undefined for a name it does not hold. */
  stateOf(upstream: string): UpstreamState | undefined {
    return this.slots.get(upstream)?.state;
  }

  tools(upstream: string): Tool[] {
    return this.slots.get(upstream)?.tools ?? [];
  }

  /** The live client of a ready upstream, for resources and prompts (their handlers check policy). */
  client(upstream: string): UpstreamConnection['client'] | undefined {
    const slot = this.slots.get(upstream);
    return slot?.state === 'ready' ? (slot.connection?.client ?? undefined) : undefined;
  }

  async call(
    upstream: string,
    tool: string,
    args: Record<string, unknown>,
    options: CallOptions,
  ): Promise<CallOutcome> {
    const slot = this.slots.get(upstream);
    if (slot?.state !== 'ready' || !slot.connection) {
      return {
        ok: false,
        ms: 0,
        denial: denial(
          'upstream_unavailable',
          'The service behind this tool is unavailable; try again later.',
        ),
      };
    }
    slot.inflight++;
    this.inflight++;
    try {
      return await callOnSlot(slot, tool, args, options, this.callDeps);
    } finally {
      slot.inflight--;
      this.inflight--;
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.pinger.stop();
    await Promise.all(
      [...this.slots.values()].map(async (slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        slot.state = 'stopped';
        await slot.connection?.close().catch(() => undefined);
        await slot.pendingConnection?.close().catch(() => undefined);
      }),
    );
  }

  /** Replaces a connection whose session the server forgot; one heal for every call that noticed. */
  private heal(slot: Slot, stale: UpstreamConnection): Promise<boolean> {
    if (slot.connection !== stale && slot.state === 'ready') return Promise.resolve(true);
    slot.healing ??= (async () => {
      this.markDown(slot, 'the upstream lost its session (restarted)');
      slot.connection = null;
      await stale.close().catch(() => undefined);
      try {
        await this.connectWithin(slot);
        slot.restarts++;
        return true;
      } catch (error) {
        this.markDown(slot, error instanceof Error ? error.message : String(error));
        this.scheduleRestart(slot);
        return false;
      } finally {
        slot.healing = null;
      }
    })();
    return slot.healing;
  }

  private lost(slot: Slot, error: unknown): void {
    if (this.stopped || slot.retired || slot.state !== 'ready') return;
    const connection = slot.connection;
    slot.connection = null;
    this.markDown(slot, error instanceof Error ? error.message : String(error));
    this.options.logger.warn(
      { upstream: slot.name, err: error },
      'upstream unreachable; reconnecting with backoff',
    );
    void connection?.close().catch(() => undefined);
    this.scheduleRestart(slot);
  }

  private markDown(slot: Slot, reason: string): void {
    // The upstream's own words (its error message) reach health, `bulkhead status` and terminals.
    markDown(slot, stripHidden(this.options.scrub(reason)).text);
  }

  /** Connects within the upstream's `start_timeout` (upstream-start.ts). */
  private connectWithin(slot: Slot): Promise<void> {
    return connectWithin(slot, (s, abandoned) => this.connect(s, abandoned));
  }

  private async connect(slot: Slot, abandoned: () => boolean = () => false): Promise<void> {
    if (slot.state !== 'down') slot.state = 'starting';
    let connection: UpstreamConnection | undefined;
    connection = await connectUpstream(slot.name, slot.config, this.options.source, {
      onClose: () => this.onClosed(slot, connection),
      onStderr: (text) => {
        slot.stderrTail = [...slot.stderrTail, ...text.split('\n')].slice(-STDERR_TAIL);
        this.options.logger.debug({ upstream: slot.name, stderr: text }, 'upstream stderr');
      },
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      ...(this.options.outputLimit
        ? { outputLimit: (tool: string) => this.options.outputLimit?.(slot.name, tool) }
        : {}),
      contended: () => this.inflight > 1,
      onSpawn: (pending) => {
        slot.pendingConnection = pending;
      },
      onParseFallback: (error) => this.warnings.parseFallback(slot.name, error),
      onContainment: (how) => {
        slot.containment = how;
        this.warnings.containment(how);
      },
    });
    const giveUp = async () => {
      await connection?.close().catch(() => undefined);
      throw new Error('the connection attempt was abandoned');
    };
    if (this.stopped || abandoned()) return giveUp();
    connection.client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      await this.relist(slot).catch((error: unknown) => {
        this.options.logger.warn({ upstream: slot.name, err: error }, 're-listing tools failed');
      });
    });
    for (const [schema, what] of [
      [PromptListChangedNotificationSchema, 'prompts'],
      [ResourceListChangedNotificationSchema, 'resources'],
    ] as const) {
      connection.client.setNotificationHandler(schema, () => {
        if (!this.serving(slot)) return;
        void coalesced(slot, what, async () => this.options.onOfferedChanged?.(slot.name, what));
      });
    }
    const tools = await listAllTools(connection.client);
    if (this.stopped || abandoned()) return giveUp();
    slot.pendingConnection = null;
    slot.connection = connection;
    slot.tools = tools;
    slot.state = 'ready';
    slot.upSince = Date.now();
    slot.downSince = null;
    if (this.serving(slot)) this.options.onTools(slot.name, slot.tools);
  }

  /** After `list_changed`: coalesced, so a flood of them costs a few re-listings (upstream-slot.ts). */
  private relist(slot: Slot): Promise<void> {
    return coalesced(slot, 'tools', async () => {
      if (!slot.connection) return;
      slot.tools = await listAllTools(slot.connection.client);
      if (this.serving(slot)) this.options.onTools(slot.name, slot.tools);
    });
  }

  /** Only the slot in the pool feeds the catalog: not one a reload prepared or retired. */
  private serving(slot: Slot): boolean {
    return !slot.retired && this.slots.get(slot.name) === slot;
  }

  private onClosed(slot: Slot, connection: UpstreamConnection | undefined): void {
    if (this.stopped || slot.retired) return;
    // A connection still being set up that closes is the start failing, reported by its caller.
    if (!connection || slot.connection !== connection) return;
    this.markDown(slot, 'connection closed');
    slot.connection = null;
    this.options.logger.warn({ upstream: slot.name }, 'upstream connection closed; restarting');
    this.scheduleRestart(slot);
  }

  private scheduleRestart(slot: Slot): void {
    if (this.stopped || slot.retired || slot.timer) return;
    const delay = nextRestartDelay(slot, this.options.backoff ?? { initialMs: 200, maxMs: 30_000 });
    slot.timer = setTimeout(() => {
      slot.timer = null;
      slot.restarts++;
      this.connectWithin(slot).catch((error: unknown) => {
        this.markDown(slot, error instanceof Error ? error.message : String(error));
        this.options.logger.warn({ upstream: slot.name, err: error }, 'upstream restart failed');
        this.scheduleRestart(slot);
      });
    }, delay);
    slot.timer.unref();
  }
}
