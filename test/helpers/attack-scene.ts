/**
 * A gateway in front of an upstream that records every call it receives, one
 * agent of profile `agent` connected, and the record emptied before each test:
 * attack tests then read what, if anything, reached the upstream.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { recorded, startTestGateway, type TestGateway, tempDir } from './harness.js';

export class AttackScene {
  gw!: TestGateway;
  record = '';
  /** Tool names the agent was offered. */
  listed: string[] = [];
  private callTool!: (tool: string, args: Record<string, unknown>) => Promise<unknown>;

  call(tool: string, args: Record<string, unknown>): Promise<unknown> {
    return this.callTool(tool, args);
  }

  /** What the upstream received since the test began. */
  received(): ReturnType<typeof recorded> {
    return recorded(this.record);
  }

  async start(policy: (record: string) => string): Promise<void> {
    const dir = tempDir();
    this.record = join(dir, 'received.jsonl');
    this.gw = await startTestGateway(policy(this.record), { dir });
    const agent = await this.gw.agent('agent');
    this.callTool = (name, args) => agent.client.callTool({ name, arguments: args });
    this.listed = (await agent.client.listTools()).tools.map((t) => t.name);
  }
}

/** Registers the scene's hooks in the calling test file. */
export function attackScene(policy: (record: string) => string): AttackScene {
  const scene = new AttackScene();
  beforeAll(() => scene.start(policy));
  afterAll(async () => {
    await scene.gw?.close();
  });
  beforeEach(() => writeFileSync(scene.record, ''));
  return scene;
}
