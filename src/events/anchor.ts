/**
 * The audit log's anchor outside the store. The hash chain is unkeyed: whoever
 * can write the store can delete a writer's last events, or edit an event and
 * recompute every later link and checkpoint, and the log alone still verifies.
 * So every checkpoint the gateway records (and a refresh every few seconds) is
 * also kept in a file in the gateway's home, per store: each writer's highest
 * head ever seen, which only grows. The start-up check and `bulkhead audit
 * verify` match the log against it, so a truncated tail or a consistent
 * rewrite shows unless the attacker could also write the gateway's home.
 * Notifier-shipped checkpoints are the anchor for an attacker who can.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { asCheckpoint, type Checkpoint, type CheckpointHead } from './verify.js';

/** The anchor file of one store (its location: a SQLite path, or a PostgreSQL host/port/database). */
export function anchorPath(home: string, storeLocation: string): string {
  const key = createHash('sha256').update(storeLocation).digest('hex').slice(0, 16);
  return join(home, 'audit-anchors', `${key}.json`);
}

/** The anchored checkpoint, or undefined when there is none (first start, another home). */
export function readAnchor(file: string): Checkpoint | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return asCheckpoint(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * Merges `cp` into the anchor: a writer's head only moves forward, so a log
 * shortened after an earlier anchor still shows against it. `replace` starts
 * over from `cp`: done once a break was alerted at start-up, so a store reset
 * on purpose (a new database file) alarms once, not at every start. Written
 * whole and renamed, so a crash mid-write leaves the previous anchor.
 */
export function writeAnchor(file: string, storeLocation: string, cp: Checkpoint, replace = false): void {
  const heads = new Map<string, CheckpointHead>();
  if (!replace) for (const h of readAnchor(file)?.heads ?? []) heads.set(h.writer, h);
  for (const h of cp.heads) {
    const known = heads.get(h.writer);
    if (!known || known.seq <= h.seq) heads.set(h.writer, h);
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(
    tmp,
    `${JSON.stringify({ store: storeLocation, at: cp.at, heads: [...heads.values()] }, null, 1)}\n`,
    { mode: 0o600 },
  );
  renameSync(tmp, file);
}
