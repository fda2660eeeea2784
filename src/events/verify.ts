/**
 * Verifying the audit log: every writer's chain link by link, then every
 * checkpoint (recorded in the log, or exported and kept elsewhere) against
 * the events it names. Used by `bulkhead audit verify` and, on the tail only,
 * by the gateway at start-up.
 */
import type { EventStore } from '../store/store.js';
import { type ChainFinding, ChainVerifier } from './chain.js';

export interface CheckpointHead {
  writer: string;
  seq: number;
  hash: string;
}

/** A checkpoint: every writer's head at one moment. Exported as JSON, shipped anywhere. */
export interface Checkpoint {
  at: number;
  heads: CheckpointHead[];
}

export interface VerifyReport {
  ok: boolean;
  writers: number;
  checked: number;
  unchained: number;
  checkpoints: number;
  findings: ChainFinding[];
}

const PAGE = 1_000;

export async function verifyLog(
  events: EventStore,
  options: { tail?: number; checkpoints?: Checkpoint[] } = {},
): Promise<VerifyReport> {
  const findings: ChainFinding[] = [];
  let checked = 0;
  const writers = await events.writers();
  const heads = new Map((await events.heads()).map((h) => [h.writer, h]));
  for (const writer of writers) {
    const verifier = new ChainVerifier(writer);
    let after = 0;
    if (options.tail !== undefined) {
      const head = heads.get(writer);
      const from = Math.max(0, (head?.seq ?? 0) - options.tail);
      if (from > 0) {
        const [seed] = await events.chain(writer, from - 1, 1);
        if (seed) {
          verifier.seed(seed);
          after = seed.chain?.seq ?? from;
        }
      }
    }
    for (;;) {
      const page = await events.chain(writer, after, PAGE);
      for (const event of page) verifier.feed(event);
      const last = page.at(-1)?.chain?.seq;
      if (page.length < PAGE || last === undefined) break;
      after = last;
    }
    findings.push(...verifier.findings);
    checked += verifier.checked;
  }
  const checkpoints = [...(options.checkpoints ?? [])];
  if (options.tail === undefined) {
    // Every checkpoint the log itself recorded; an exported one is checked the same way.
    let before: number | undefined;
    for (;;) {
      const page = await events.list({
        kind: 'audit.checkpoint',
        limit: PAGE,
        ...(before ? { beforeId: before } : {}),
      });
      for (const e of page) {
        const cp = asCheckpoint(e.data);
        if (cp) checkpoints.push(cp);
      }
      if (page.length < PAGE) break;
      before = page.at(-1)?.id;
    }
  } else {
    const [latest] = await events.list({ kind: 'audit.checkpoint', limit: 1 });
    const cp = latest && asCheckpoint(latest.data);
    if (cp) checkpoints.push(cp);
  }
  findings.push(...(await checkHeads(events, checkpoints)));
  return {
    ok: findings.length === 0,
    writers: writers.length,
    checked,
    unchained: await events.unchained(),
    checkpoints: checkpoints.length,
    findings: dedupe(findings),
  };
}

/** Each head a checkpoint names must still be in the log, with the same hash. */
async function checkHeads(events: EventStore, checkpoints: Checkpoint[]): Promise<ChainFinding[]> {
  const seen = new Set<string>();
  const findings: ChainFinding[] = [];
  for (const cp of checkpoints) {
    for (const head of cp.heads) {
      const key = `${head.writer}:${head.seq}:${head.hash}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const [event] = await events.chain(head.writer, head.seq - 1, 1);
      const found = event?.chain?.seq === head.seq ? event.chain.hash : null;
      if (found !== head.hash) {
        findings.push({
          kind: 'checkpoint_mismatch',
          writer: head.writer,
          seq: head.seq,
          expected: head.hash,
          found,
        });
      }
    }
  }
  return findings;
}

export function asCheckpoint(value: unknown): Checkpoint | undefined {
  const v = value as { at?: unknown; heads?: unknown } | null;
  if (!v || typeof v.at !== 'number' || !Array.isArray(v.heads)) return undefined;
  const heads: CheckpointHead[] = [];
  for (const h of v.heads as { writer?: unknown; seq?: unknown; hash?: unknown }[]) {
    if (typeof h?.writer !== 'string' || typeof h.seq !== 'number' || typeof h.hash !== 'string')
      return undefined;
    heads.push({ writer: h.writer, seq: h.seq, hash: h.hash });
  }
  return { at: v.at, heads };
}

/** The current heads, as a checkpoint to record or export. */
export async function currentCheckpoint(events: EventStore, now = Date.now()): Promise<Checkpoint> {
  return { at: now, heads: await events.heads() };
}

function dedupe(findings: ChainFinding[]): ChainFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = JSON.stringify(f);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function describeFinding(f: ChainFinding): string {
  switch (f.kind) {
    case 'deleted':
      return `writer ${f.writer}: events ${f.fromSeq}${f.toSeq > f.fromSeq ? `-${f.toSeq}` : ''} are missing (deleted)`;
    case 'edited':
      return `writer ${f.writer}: event ${f.seq} (id ${f.id}) does not match its hash (edited)`;
    case 'reordered':
      return `writer ${f.writer}: event ${f.seq} (id ${f.id}) is out of order (reordered)`;
    case 'checkpoint_mismatch':
      return `writer ${f.writer}: a checkpoint names event ${f.seq} with hash ${f.expected.slice(0, 12)}…, the log has ${f.found ? `${f.found.slice(0, 12)}…` : 'nothing'} (deleted or rewritten)`;
  }
}
