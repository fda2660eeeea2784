/**
 * OpenTelemetry on a real gateway process configured only by OTEL_*
 * variables, exporting OTLP/HTTP (JSON) to a receiver in this test that
 * decodes what arrives. The upstream is a real MCP server over Streamable
 * HTTP that records the traceparent header it was sent.
 */

import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connectAgent, denialCode, tempDir } from '../helpers/harness.js';
import { type GatewayProcess, spawnGateway } from './gateway-process.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: {
    key: string;
    value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
  }[];
}

const CANARY = 'canary-argument-7d1f';
const spans: OtlpSpan[] = [];
const traceparents: string[] = [];
let receiver: Server;
let upstream: Server;
let gw: GatewayProcess;

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function attr(span: OtlpSpan, key: string): string | undefined {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? String(v.intValue) : undefined);
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('not in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    const text = await body(req);
    if (req.url === '/v1/traces') {
      const decoded = JSON.parse(text) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of decoded.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const receiverPort = await listen(receiver);

  upstream = createServer(async (req, res) => {
    const tp = req.headers.traceparent;
    if (typeof tp === 'string') traceparents.push(tp);
    const server = new McpServer({ name: 'lookup', version: '1.0.0' });
    server.registerTool(
      'lookup',
      { description: 'Looks a record up.', inputSchema: { id: z.string() } },
      async ({ id }) => ({
        content: [{ type: 'text', text: `record ${id.length}` }],
      }),
    );
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => void transport.close());
    await server.connect(transport);
    const raw = await body(req);
    await transport.handleRequest(req, res, raw ? JSON.parse(raw) : undefined);
  });
  const upstreamPort = await listen(upstream);

  const dir = tempDir('bulkhead-otel-');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  records:
    url: http://127.0.0.1:${upstreamPort}/mcp
tools:
  records:
    lookup: { class: read, arguments: { id: { maxLength: 40 } } }
profiles:
  agent:
    tools: [records__lookup]
`,
  );
  gw = await spawnGateway(policy, {
    dir,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'bulkhead-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
  });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  receiver?.close();
  upstream?.close();
});

describe('OpenTelemetry traces', () => {
  it('exports a tools/call trace with a span per stage, a client span for the upstream and the W3C traceparent it sent', async () => {
    const created = await gw.api<{ run_id: string; token: string }>('POST', '/api/runs', {
      profile: 'agent',
    });
    const runId = created.body.run_id;
    const client = await connectAgent(gw.url, created.body.token);
    traceparents.length = 0;
    const ok = await client.callTool({ name: 'records__lookup', arguments: { id: CANARY } });
    expect(ok.isError).not.toBe(true);
    const refused = await client.callTool({ name: 'records__lookup', arguments: { id: 'x'.repeat(41) } });
    expect(denialCode(refused)).toBe('invalid_arguments');
    await client.close();

    await until(
      () => spans.filter((s) => s.name === 'tools/call' && attr(s, 'bulkhead.run_id') === runId).length >= 2,
    );
    const calls = spans.filter((s) => s.name === 'tools/call' && attr(s, 'bulkhead.run_id') === runId);
    const allowed = calls.find((s) => attr(s, 'bulkhead.decision') === 'allow') as OtlpSpan;
    const denied = calls.find((s) => attr(s, 'bulkhead.decision') === 'deny') as OtlpSpan;
    expect(allowed.kind).toBe(2); // SERVER
    expect(attr(allowed, 'bulkhead.tool')).toBe('records__lookup');
    expect(attr(denied, 'bulkhead.denial.code')).toBe('invalid_arguments');

    await until(() => spans.some((s) => s.traceId === allowed.traceId && s.name === 'tools/call records'));
    const stages = spans.filter((s) => s.traceId === allowed.traceId && s.name.startsWith('stage '));
    expect(stages.map((s) => attr(s, 'bulkhead.stage'))).toEqual(
      expect.arrayContaining(['run-state', 'scope', 'validate', 'budget', 'execute', 'inspect']),
    );
    for (const stage of stages) {
      expect(stage.parentSpanId).toBe(allowed.spanId);
      expect(attr(stage, 'bulkhead.decision')).toBe('continue');
    }
    const execute = stages.find((s) => attr(s, 'bulkhead.stage') === 'execute') as OtlpSpan;
    const upstreamCall = spans.find(
      (s) => s.traceId === allowed.traceId && s.name === 'tools/call records',
    ) as OtlpSpan;
    expect(upstreamCall.kind).toBe(3); // CLIENT
    expect(upstreamCall.parentSpanId).toBe(execute.spanId);
    expect(attr(upstreamCall, 'bulkhead.upstream')).toBe('records');
    // The upstream received the client span's context: same trace, that span as parent.
    expect(traceparents).toContain(`00-${allowed.traceId}-${upstreamCall.spanId}-01`);

    const validate = spans.find(
      (s) => s.traceId === denied.traceId && attr(s, 'bulkhead.stage') === 'validate',
    ) as OtlpSpan;
    expect(attr(validate, 'bulkhead.denial.code')).toBe('invalid_arguments');
    expect(spans.some((s) => s.traceId === denied.traceId && attr(s, 'bulkhead.stage') === 'execute')).toBe(
      false,
    );

    // Never an argument value, in any span of any trace.
    expect(JSON.stringify(spans)).not.toContain(CANARY);
    expect(JSON.stringify(spans)).not.toContain(created.body.token);
  }, 60_000);
});
