/**
 * Credentials belong to upstreams: a secret injected into one upstream is
 * seen by that upstream only, never by the agent, and never in tool lists,
 * results, errors, events or logs. The gateway's own environment never
 * reaches an upstream.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownSecretForms } from '../../src/scrub/encodings.js';
import {
  type Agent,
  everythingUpstream,
  startTestGateway,
  type TestGateway,
  text,
} from '../helpers/harness.js';

const CANARY = 'canary-upstream-secret-7f3a9c2e41';
const GATEWAY_ONLY = 'canary-gateway-env-5b8d0e6a93';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
${everythingUpstream()}
    env:
      EVERYTHING_API_KEY: { secret: EVERYTHING_API_KEY }
      PLAIN_SETTING: plain-config-value
tools:
  everything:
    get-env: { class: read, rename: get_env }
    echo: { class: read }
profiles:
  agent:
    tools: [everything__get_env, everything__echo]
`;

let gw: TestGateway;
let agent: Agent;
let envResult: string;

beforeAll(async () => {
  gw = await startTestGateway(POLICY, {
    env: { EVERYTHING_API_KEY: CANARY, UNRELATED_GATEWAY_SECRET: GATEWAY_ONLY },
  });
  agent = await gw.agent('agent');
  envResult = text(await agent.client.callTool({ name: 'everything__get_env', arguments: {} }));
  // The agent echoes the secret back, as an injected prompt would make it do.
  await agent.client.callTool({ name: 'everything__echo', arguments: { message: `key is ${CANARY}` } });
  await agent.client.callTool({
    name: 'everything__echo',
    arguments: { message: Buffer.from(`key=${CANARY}`).toString('base64') },
  });
});
afterAll(async () => {
  await gw?.close();
});

describe('upstream credentials', () => {
  it("gives the upstream only its declared environment, not the gateway's", () => {
    const env = JSON.parse(envResult) as Record<string, string>;
    expect(env.PLAIN_SETTING).toBe('plain-config-value');
    expect(Object.values(env)).not.toContain(GATEWAY_ONLY);
    expect(Object.keys(env)).not.toContain('UNRELATED_GATEWAY_SECRET');
  });

  it('injects the declared credential into the upstream (scrubbed on the way back)', () => {
    const env = JSON.parse(envResult) as Record<string, string>;
    expect(env.EVERYTHING_API_KEY).toBe('[REDACTED:secret]');
  });

  it('never returns the credential to the agent, in any encoding', () => {
    for (const form of knownSecretForms(CANARY)) expect(envResult).not.toContain(form);
  });

  it('never lists the credential in tool definitions', async () => {
    const { tools } = await agent.client.listTools();
    expect(JSON.stringify(tools)).not.toContain(CANARY);
  });

  it('keeps the credential out of the audit trail in the SQLite file', async () => {
    const db = new Database(join(gw.dir, 'bulkhead.db'), { readonly: true });
    const rows = db.prepare('SELECT * FROM events').all();
    db.close();
    const dump = JSON.stringify(rows);
    expect(rows.length).toBeGreaterThan(0);
    for (const form of knownSecretForms(CANARY)) expect(dump).not.toContain(form);
  });

  it('keeps the credential out of the raw database file', () => {
    const raw = readFileSync(join(gw.dir, 'bulkhead.db')).toString('latin1');
    const wal = (() => {
      try {
        return readFileSync(join(gw.dir, 'bulkhead.db-wal')).toString('latin1');
      } catch {
        return '';
      }
    })();
    expect(raw + wal).not.toContain(CANARY);
  });

  it('keeps the credential out of the log', async () => {
    gw.gateway.logger.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(gw.readLog()).not.toContain(CANARY);
  });

  it('keeps the credential out of the operator API and metrics', async () => {
    const headers = { authorization: `Bearer ${gw.gateway.localToken}` };
    const events = await (await fetch(`${gw.gateway.url}/api/events?limit=1000`, { headers })).text();
    const metrics = await (await fetch(`${gw.gateway.url}/metrics`)).text();
    expect(events).not.toContain(CANARY);
    expect(metrics).not.toContain(CANARY);
  });

  it('fails to start when a secret reference is missing, naming it without a value', async () => {
    await expect(startTestGateway(POLICY, { env: {} })).rejects.toThrow(
      'upstreams.everything.env.EVERYTHING_API_KEY: secret EVERYTHING_API_KEY is not set',
    );
  });
});
