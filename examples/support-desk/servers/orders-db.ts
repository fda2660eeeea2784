/**
 * The orders database: one SQLite file, created and seeded on open. Seeding is
 * idempotent and deterministic — the same 500 orders on every machine, however
 * many server processes open the file at once (two gateway replicas each start
 * their own orders upstream on the same file).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export const STATUSES = ['pending', 'shipped', 'delivered', 'refunded'] as const;
export type OrderStatus = (typeof STATUSES)[number];
export const ORDER_COUNT = 500;

export interface Order {
  id: string;
  customer_id: string;
  email: string;
  status: OrderStatus;
  amount_cents: number;
}

export function openOrdersDb(file: string): Database.Database {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  // Set first: a second process seeding the same file waits instead of failing with SQLITE_BUSY.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  seed(db);
  return db;
}

export function orderId(n: number): string {
  return `ORD-${String(n).padStart(6, '0')}`;
}

export function customerId(n: number): string {
  return `CUS-${String(n).padStart(4, '0')}`;
}

function seed(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_cents INTEGER NOT NULL
  )`);
  // Refunds in their own table: a file from an older version of this server opens unchanged.
  db.exec(`CREATE TABLE IF NOT EXISTS refunds (
    order_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
  )`);
  const insert = db.prepare(
    'INSERT OR IGNORE INTO orders (id, customer_id, email, status, amount_cents) VALUES (?, ?, ?, ?, ?)',
  );
  db.exec('CREATE TABLE IF NOT EXISTS seeded (at TEXT NOT NULL)');
  // Seeded once per file, not on every start: a refund or deletion survives a restart of the server.
  // IMMEDIATE takes the write lock before the check, so two processes cannot both seed.
  db.transaction(() => {
    if (db.prepare('SELECT 1 FROM seeded').get()) return;
    db.prepare('INSERT INTO seeded (at) VALUES (?)').run(new Date().toISOString());
    for (let i = 1; i <= ORDER_COUNT; i++) {
      const customer = draw(i, 'customer', 120) + 1;
      // Seeded orders are never pre-refunded, so any order an example refunds is refundable.
      const status = STATUSES[draw(i, 'status', 3)] as OrderStatus;
      const amount = 5_000 + draw(i, 'amount', 45_000); // $50 to $499.99
      insert.run(orderId(i), customerId(customer), `customer${customer}@example.com`, status, amount);
    }
  }).immediate();
}

/**
 * A number in [0, n) that depends only on the order and the field: the same data on every machine
 * and Node version, with no generator state to keep in step.
 */
function draw(order: number, field: string, n: number): number {
  return createHash('sha256').update(`${field}:${order}`).digest().readUInt32BE(0) % n;
}
