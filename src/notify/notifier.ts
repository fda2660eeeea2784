/**
 * Notifiers: a generic signed webhook and a Slack-compatible incoming webhook.
 * Sending never blocks the pipeline: messages go to a queue, are retried with
 * backoff, and a failure is logged, never thrown back. Every payload passes
 * the scrubber before it leaves.
 *
 * With an outbox (the gateway's store), each notice is kept, scrubbed, from
 * before its first attempt until it was delivered or given up: one a crash
 * cut short is delivered by the next replica to reconcile (`recover`, run by
 * the lease at start and after it retired a dead replica). A round of
 * attempts that finds no receiver (network errors, 5xx, 429) does not drop
 * the notice: it waits in the outbox for another round (30 s, doubling up to
 * 30 min), for a day, so an approval request reaches a Slack that was down
 * for an hour. A receiver that refuses it (another 4xx) will not change its
 * mind: dropped. At least once: a receiver drops a repeat by its
 * `X-Bulkhead-Delivery` id.
 *
 * Signature: `X-Bulkhead-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
 * with `X-Bulkhead-Timestamp`, so a receiver can reject replays and forgeries.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { HIDDEN, keysToWriteOut } from '../inspect/key-reading.js';
import type { Logger } from '../log.js';
import type { Policy } from '../policy/schema/index.js';
import { resolveSecret, resolveText, type SecretSource } from '../policy/secrets.js';
import type { Scrubber } from '../scrub/index.js';
import type { NoticeOutbox, OutboxNotice } from '../store/store.js';

/** What a notice's rounds need to know of its row in the outbox. */
type Kept = Pick<OutboxNotice, 'id' | 'createdAt' | 'rounds'>;

export interface Notice {
  kind:
    | 'approval.requested'
    | 'approval.decided'
    | 'budget.alert'
    | 'run.ended'
    | 'tool.changed'
    | 'replica.lapsed'
    | 'audit.checkpoint'
    | 'audit.broken';
  title: string;
  /** Structured detail; scrubbed before sending. */
  data: Record<string, unknown>;
  link?: string;
}

/** Kinds a notifier gets only when its `events` list names them. */
const OPT_IN = new Set<Notice['kind']>(['audit.checkpoint']);

export interface Notifier {
  send(notice: Notice): void;
  /** Resolves when everything queued so far was delivered or given up (tests, shutdown). */
  drain(): Promise<void>;
  /** Takes the notices dead replicas left undelivered and sends them; resolves how many. */
  recover?(): Promise<number>;
  /** Starts another round for this replica's kept notices that are due; resolves how many. */
  sendDue?(): Promise<number>;
  /** Stops looking for due notices (a reload's old notifier, shutdown). */
  close?(): void;
}

/** How many orphaned or due notices one `recover` or `sendDue` takes; the rest wait for the next. */
const ADOPT_LIMIT = 100;

/** When kept notices get another round, and for how long (tests shorten them). */
export interface Rounds {
  /** How often the notifier looks for its notices due another round. */
  everyMs: number;
  /** The wait after round `n` (0-based) found no receiver. */
  waitMs(rounds: number): number;
  /** A notice this old that still finds no receiver is given up. */
  keepMs: number;
}

const DEFAULT_ROUNDS: Rounds = {
  everyMs: 15_000,
  waitMs: (rounds) => Math.min(30_000 * 2 ** rounds, 30 * 60_000),
  keepMs: 24 * 60 * 60_000,
};

/** What a round of attempts came to. */
type Outcome = 'delivered' | 'refused' | 'unreachable';

interface Target {
  name: string;
  type: 'webhook' | 'slack';
  url: string;
  key: string | null;
  events: string[] | undefined;
}

export function signature(key: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function createNotifier(
  policy: Policy,
  deps: {
    source: SecretSource;
    scrubber: Scrubber;
    logger: Logger;
    retries?: number;
    backoffMs?: number;
    /** Keeps each notice until delivered, owned by this replica (see above). */
    outbox?: { store: NoticeOutbox; owner: string };
    rounds?: Rounds;
    now?: () => number;
  },
): Notifier {
  const targets: Target[] = Object.entries(policy.notifiers).map(([name, n]) => ({
    name,
    type: n.type,
    url: resolveText(n.url, deps.source, `notifiers.${name}.url`),
    key:
      n.type === 'webhook' && n.signing_key
        ? resolveSecret(n.signing_key, deps.source, `notifiers.${name}.signing_key`)
        : null,
    events: n.events,
  }));
  const pending = new Set<Promise<void>>();
  const retries = deps.retries ?? 4;
  const backoff = deps.backoffMs ?? 500;

  const rounds = deps.rounds ?? DEFAULT_ROUNDS;
  const now = deps.now ?? Date.now;

  const deliver = async (target: Target, clean: Notice, id: string): Promise<Outcome> => {
    const body =
      target.type === 'slack'
        ? JSON.stringify(slackBody(clean))
        : JSON.stringify({
            kind: clean.kind,
            title: clean.title,
            data: clean.data,
            link: clean.link ?? null,
            sent_at: new Date().toISOString(),
          });
    for (let attempt = 0; attempt <= retries; attempt++) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-bulkhead-timestamp': timestamp,
            'x-bulkhead-delivery': id,
            ...(target.key ? { 'x-bulkhead-signature': signature(target.key, timestamp, body) } : {}),
          },
          body,
          signal: AbortSignal.timeout(5_000),
        });
        if (response.ok) return 'delivered';
        if (response.status < 500 && response.status !== 429) return 'refused'; // a 4xx will not get better
      } catch {
        // Network error: retry.
      }
      if (attempt < retries) await new Promise((r) => setTimeout(r, backoff * 2 ** attempt));
    }
    return 'unreachable';
  };

  const outbox = deps.outbox;
  const forget = (id: string) =>
    outbox?.store.remove(id).catch((error: unknown) =>
      // Delivered, but the next replica may send it again: a receiver drops it by its id.
      deps.logger.warn({ err: error, id }, 'a delivered notice could not be taken off the outbox'),
    );
  /** After a round: forgotten, or (no receiver, within its day, with an outbox) kept for the next. */
  const settle = async (outcome: Outcome, target: Target, kind: Notice['kind'], kept: Kept) => {
    const log = { notifier: target.name, kind, id: kept.id, rounds: kept.rounds + 1 };
    if (outcome === 'delivered') return forget(kept.id);
    if (outcome === 'unreachable' && outbox && now() - kept.createdAt < rounds.keepMs) {
      const retryAt = now() + rounds.waitMs(kept.rounds);
      try {
        await outbox.store.defer(kept.id, retryAt);
        deps.logger.warn(
          { ...log, retryAt: new Date(retryAt).toISOString() },
          'notification not delivered yet: kept for another round',
        );
      } catch (error) {
        // Still kept: another replica sends it if this one stops.
        deps.logger.warn({ ...log, err: error }, 'a notice could not be scheduled for another round');
      }
      return;
    }
    deps.logger.warn(
      log,
      outcome === 'refused' ? 'notification refused by its receiver' : 'notification could not be delivered',
    );
    return forget(kept.id);
  };
  const start = (target: Target, clean: Notice, kept: Kept, stored: Promise<unknown>) => {
    const job = stored
      .then(() => deliver(target, clean, kept.id))
      .then((outcome) => settle(outcome, target, clean.kind, kept))
      .finally(() => pending.delete(job));
    pending.add(job);
  };
  /** A notice from the outbox (adopted or due) for its round; one for a removed notifier is forgotten. */
  const resume = (kept: OutboxNotice) => {
    const target = targets.find((t) => t.name === kept.target);
    if (!target) void forget(kept.id);
    else start(target, JSON.parse(kept.body) as Notice, kept, Promise.resolve());
  };
  let sweeping = false;
  const sendDue = async () => {
    if (!outbox || sweeping) return 0;
    sweeping = true;
    try {
      const due = await outbox.store.takeDue(outbox.owner, now(), ADOPT_LIMIT);
      for (const kept of due) resume(kept);
      return due.length;
    } finally {
      sweeping = false;
    }
  };
  const sweep = outbox
    ? setInterval(() => {
        sendDue().catch((error: unknown) =>
          deps.logger.warn({ err: error }, 'could not read the outbox for notices due another round'),
        );
      }, rounds.everyMs).unref()
    : undefined;

  return {
    send(notice) {
      let clean: Notice | undefined;
      for (const target of targets) {
        if (target.events && !target.events.includes(notice.kind)) continue;
        // Checkpoints are for a receiver that keeps them (audit shipping): sent only when asked for.
        if (!target.events && OPT_IN.has(notice.kind)) continue;
        clean ??= deps.scrubber.value(notice);
        const kept: Kept = { id: randomUUID(), createdAt: now(), rounds: 0 };
        // Kept before the first attempt; a store that cannot keep it does not hold the notice back.
        const stored = outbox
          ? outbox.store
              .put({
                id: kept.id,
                owner: outbox.owner,
                target: target.name,
                body: JSON.stringify(clean),
                createdAt: kept.createdAt,
              })
              .catch((error: unknown) =>
                deps.logger.warn(
                  { err: error, kind: notice.kind },
                  'a notice could not be kept in the outbox',
                ),
              )
          : Promise.resolve();
        start(target, clean, kept, stored);
      }
    },
    async drain() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async recover() {
      if (!outbox) return 0;
      const orphans = await outbox.store.adoptOrphans(outbox.owner, ADOPT_LIMIT);
      for (const orphan of orphans) resume(orphan);
      return orphans.length;
    },
    sendDue,
    close() {
      if (sweep) clearInterval(sweep);
    },
  };
}

/** What one Slack section's text may hold (Slack allows 3,000 characters), room left for a note. */
const SLACK_SECTION = 2_800;

/**
 * The Slack body of a notice. Everything in it but the gateway's own link is written so that Slack
 * reads it as plain text: a held call's arguments are the agent's words, and Slack's mrkdwn turned
 * ``` in an argument into the end of the code block and `<https://…|Open in bulkhead>` into a link
 * of the agent's choosing in the approver's channel. The JSON is escaped as JSON allows (`\u0060`,
 * `\u003c`, `\u003e`, `\u0026`: the same value, nothing Slack acts on), and its reason (`why`:
 * look-alike letters, hidden characters, what the run read) comes first, before the arguments
 * that could push it past a cut; a cut says it is one.
 */
function slackBody(clean: Notice): unknown {
  const data = clean.data as Record<string, unknown>;
  const why = typeof data.why === 'string' ? data.why : undefined;
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const code = (value: unknown) => section(`\`\`\`${cut(inertJson(value))}\`\`\``);
  const title = clean.title.replace(/[&<>]/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt' }[c]};`);
  return {
    text: `${title}${clean.link ? ` — <${clean.link}|open>` : ''}`,
    blocks: [
      section(`*${title}*`),
      ...(why ? [code({ why })] : []),
      code(data),
      ...(clean.link ? [section(`<${clean.link}|Open in bulkhead>`)] : []),
    ],
  };
}

/**
 * JSON with what Slack acts on inside a code block, what it hides or reorders (bidi overrides,
 * zero-width and tag characters: inspect/key-reading.ts's HIDDEN), and keys a reader could take for
 * a sibling (`PАTH` beside `PATH`) written as JSON escapes: the same value, drawn as it is.
 */
function inertJson(value: unknown): string {
  let text = JSON.stringify(value, null, 2);
  for (const key of keysWrittenOut(value)) {
    const quoted = `${JSON.stringify(key)}: `;
    // Inside a string value a quote is always escaped, so `"key": ` is only ever this key.
    text = text.replaceAll(quoted, quoted.replace(/[^\x20-\x7e]/gu, jsonEscape));
  }
  // The pretty-printer's own line breaks are the only raw newlines: JSON escapes those in strings.
  return text.replace(/[`<>&]/g, jsonEscape).replace(HIDDEN, (ch) => (ch === '\n' ? ch : jsonEscape(ch)));
}

/** `ch` as JSON `\uXXXX` escapes, one per UTF-16 unit. */
function jsonEscape(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/** Every object's keys in `value` that keysToWriteOut flags among their siblings. */
function keysWrittenOut(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keysWrittenOut(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const key of keysToWriteOut(Object.keys(value))) into.add(key);
    for (const child of Object.values(value)) keysWrittenOut(child, into);
  }
  return into;
}

function cut(text: string): string {
  if (text.length <= SLACK_SECTION) return text;
  return `${text.slice(0, SLACK_SECTION)}\n[cut: ${text.length - SLACK_SECTION} more characters, open it in bulkhead to read them all]`;
}
