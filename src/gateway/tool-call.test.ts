/**
 * The call a `tools/call` becomes (tool-handlers.ts) has one hidden class for every call: the
 * same own keys in the same order whether or not it carries progress, a hold or a dropped key,
 * and no accessor defined on the object itself (a getter defined per object put every call into
 * V8's dictionary mode, so every stage's read of it took the slow path). `callerGone` is still
 * read lazily: the HTTP request's signal is not made unless a stage asks for it.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import type { EventWriter } from '../events/writer.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { ToolCall } from '../pipeline/stage.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Catalog } from './catalog.js';
import { HeldAnswer } from './held-answer.js';
import { registerToolHandlers } from './tool-handlers.js';

const run = {
  id: 'run_1',
  profile: 'dev',
  state: 'active',
  expiresAt: Number.MAX_SAFE_INTEGER,
} as unknown as Run;

async function handled(opts: { held?: HeldAnswer; dropped?: string }) {
  const calls: ToolCall[] = [];
  const server = new Server({ name: 't', version: '1' }, { capabilities: { tools: {} } });
  const runSignal = new AbortController().signal;
  registerToolHandlers(
    server,
    {
      policy: { profiles: { dev: { tools: [] } } } as unknown as Policy,
      runs: { get: async () => run, signal: () => runSignal } as unknown as RunService,
      catalog: {} as Catalog,
      pipeline: {
        call: async (call: ToolCall) => {
          calls.push(call);
          return { result: { content: [] } };
        },
      } as unknown as Pipeline,
      events: {} as EventWriter,
      now: () => 1,
    },
    run.id,
    { take: () => opts.dropped },
  );
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  if (opts.held) {
    // What the HTTP endpoint does: the request's HeldAnswer rides in the SDK's authInfo.
    const held = opts.held;
    const send = clientSide.send.bind(clientSide);
    clientSide.send = (message: JSONRPCMessage) =>
      send(message, { authInfo: { token: '', clientId: run.id, scopes: [], extra: { held } } });
  }
  await server.connect(serverSide);
  const client = new Client({ name: 'c', version: '1' });
  await client.connect(clientSide);
  return { client, calls };
}

function heldAnswer(): { held: HeldAnswer; signalReads: () => number } {
  let reads = 0;
  const request = new Request('http://gateway.test/mcp', { method: 'POST' });
  const watched = new Proxy(request, {
    get(target, key) {
      if (key === 'signal') reads++;
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { held: new HeldAnswer(watched, () => 's'), signalReads: () => reads };
}

describe('the call a tools/call becomes', () => {
  it('has the same own keys in the same order with or without progress, a hold or a dropped key', async () => {
    const plain = await handled({});
    await plain.client.callTool({ name: 'http__echo', arguments: {} });
    const rich = await handled({ held: heldAnswer().held, dropped: '/__proto__' });
    await rich.client.callTool({ name: 'http__echo', arguments: {}, _meta: { progressToken: 7 } });
    const [a, b] = [plain.calls[0], rich.calls[0]];
    expect(a && b).toBeTruthy();
    expect(Object.keys(a as ToolCall)).toEqual(Object.keys(b as ToolCall));
    expect(Object.keys(a as ToolCall)).toEqual(expect.arrayContaining(['tool', 'result', 'intentId']));
  });

  it('defines no accessor on the call itself', async () => {
    const { client, calls } = await handled({ held: heldAnswer().held });
    await client.callTool({ name: 'http__echo', arguments: {} });
    const call = calls[0] as ToolCall;
    const accessors = Object.entries(Object.getOwnPropertyDescriptors(call)).filter(
      ([, d]) => d.get || d.set,
    );
    expect(accessors.map(([k]) => k)).toEqual([]);
  });

  it("makes the caller's signal only when a stage reads callerGone", async () => {
    const { held, signalReads } = heldAnswer();
    const { client, calls } = await handled({ held });
    await client.callTool({ name: 'http__echo', arguments: {} });
    const call = calls[0] as ToolCall;
    expect(signalReads()).toBe(0);
    expect(call.callerGone).toBeInstanceOf(AbortSignal);
    expect(signalReads()).toBe(1);
  });

  it('carries what it was given', async () => {
    const { client, calls } = await handled({ dropped: '/__proto__' });
    await client.callTool({ name: 'http__echo', arguments: { a: 1 }, _meta: { progressToken: 7 } });
    const call = calls[0] as ToolCall;
    expect(call).toMatchObject({ run, profileName: 'dev', name: 'http__echo', rawArgs: { a: 1 } });
    expect(call.droppedKey).toBe('/__proto__');
    expect(typeof call.progress).toBe('function');
    expect(call.callerGone).toBeUndefined();
    expect(call.onHold).toBeUndefined();
    expect(call.flags).toEqual([]);
  });
});
