/**
 * kill -9 of a single SQLite gateway while its log is being checkpointed: a
 * second process runs `PRAGMA wal_checkpoint(TRUNCATE)` on the file in a
 * loop while agents' calls with 2 KB arguments grow the audit trail, and
 * both processes are SIGKILLed at once. After a restart on the same file the
 * audit chain verifies and every call whose answer reached the agent has its
 * `tools/call` event.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../src/events/verify.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { connectAgent, denialCode, ROOT, tempDir } from '../helpers/harness.js';
import { createRun, killAll, ORDERS_ENV, ordersSqlitePolicy, spawnGateway, waitFor } from './processes.js';

function policy(dir: string): string {
  return ordersSqlitePolicy(
    dir,
    ['slow_echo'],
    `  agent:
    tools: [orders__slow_echo]
    loop_guard: { identical_calls: 1000 }
`,
  );
}

// Checkpoints the file over and over, as an operator's backup job or a second tool would, with a
// 2 ms breath between rounds: a spinning loop took a core from the gateway under load, and 150
// answered calls were not reached in 90 s.
const CHECKPOINTER = `
import { createRequire } from 'node:module';
const Database = createRequire(${JSON.stringify(`${ROOT}/`)})('better-sqlite3');
const db = new Database(process.argv[2]);
db.pragma('busy_timeout = 50');
const breath = new Int32Array(new SharedArrayBuffer(4));
let rounds = 0;
for (;;) {
  try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch {}
  if (++rounds === 1) process.stdout.write('started\\n');
  Atomics.wait(breath, 0, 0, 2);
}
`;

afterAll(killAll);

describe('a single SQLite gateway killed during a WAL checkpoint', () => {
  it('restarts with a chain that verifies and every answered call recorded', async () => {
    const dir = tempDir('bulkhead-wal-crash-');
    const yaml = policy(dir);
    const gw = await spawnGateway(dir, yaml, ORDERS_ENV).ready;
    const file = join(dir, 'bulkhead.db');
    const script = join(dir, 'checkpointer.mjs');
    writeFileSync(script, CHECKPOINTER);
    const checkpointer = spawn(process.execPath, [script, file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let started = false;
    checkpointer.stdout.on('data', () => {
      started = true;
    });
    const checkpointerGone = new Promise((resolve) => checkpointer.once('exit', resolve));
    await waitFor(() => started, 20_000, 'checkpointer started');

    const { token } = await createRun(gw.url, gw.adminToken, 'agent');
    const answered: string[] = [];
    let stop = false;
    const pad = 'x'.repeat(2_000);
    const worker = async (w: number) => {
      const agent = await connectAgent(gw.url, token);
      for (let i = 0; !stop; i++) {
        const text = `w${w}-${i}-${pad}`;
        const result = await agent
          .callTool({ name: 'orders__slow_echo', arguments: { ms: 0, text } })
          .catch(() => undefined);
        if (result && !result.isError && denialCode(result) === undefined) answered.push(text);
        if (!result) break;
      }
      await agent.close().catch(() => undefined);
    };
    const workers = [0, 1, 2, 3].map(worker);
    await waitFor(() => answered.length >= 150, 90_000, '150 answered calls');
    // Both at once: whichever was checkpointing is cut mid-way.
    checkpointer.kill('SIGKILL');
    gw.child.kill('SIGKILL');
    stop = true;
    await Promise.all([gw.exited, checkpointerGone, ...workers]);

    const restarted = await spawnGateway(dir, yaml, ORDERS_ENV).ready;
    restarted.child.kill('SIGTERM');
    await restarted.exited;
    const store = openSqliteStore(file);
    try {
      expect((await verifyLog(store.events)).findings).toEqual([]);
      const events = await store.events.list({ kind: 'tools/call', limit: 10_000 });
      const recorded = new Set(events.map((e) => (e.data.arguments as { text?: string } | undefined)?.text));
      expect(answered.filter((text) => !recorded.has(text)).map((t) => t.slice(0, 12))).toEqual([]);
    } finally {
      await store.close();
    }
  }, 180_000);
});
