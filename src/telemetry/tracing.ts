/**
 * OpenTelemetry traces, configured by the standard OTEL_* variables and off
 * unless an OTLP endpoint is given. When off, nothing is installed: no hook
 * in the pipeline, no wrapper around upstream requests, so it costs nothing.
 *
 * When on, every `tools/call` is a server span with one child span per
 * pipeline stage (decision and denial code as attributes), the upstream call
 * is a client span inside the execute stage, and its W3C `traceparent` goes
 * to HTTP upstreams. LLM proxy requests are server spans too. Attributes are
 * names, codes and ids only: never argument values, results or secrets.
 */
import { context, propagation, type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BulkheadError } from '../errors.js';
import type { PipelineHook } from '../pipeline/pipeline.js';

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface Tracing {
  readonly tracer: Tracer;
  /** Spans for each call and each stage, from where the pipeline composes its stages. */
  readonly hook: PipelineHook;
  /** fetch for HTTP upstreams: adds the active span's `traceparent`, then calls `base` (the gateway's own fetch). */
  readonly fetch: (url: string | URL, init?: RequestInit, base?: FetchLike) => Promise<Response>;
  /** Wraps one LLM proxy request in a server span. */
  llmRequest<T>(
    attributes: { method: string; path: string; runId?: string },
    run: (span: Span) => Promise<T>,
  ): Promise<T>;
  shutdown(): Promise<void>;
}

/**
 * Tracing as the environment asks: on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * or OTEL_EXPORTER_OTLP_ENDPOINT is set (or OTEL_TRACES_EXPORTER=otlp), off
 * with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The exporter
 * itself reads the endpoint, headers, timeout and compression variables; the
 * provider reads OTEL_TRACES_SAMPLER and the batch processor OTEL_BSP_*.
 */
export function tracingFromEnv(env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim().toLowerCase());
  if (exporters.includes('none')) return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint && !exporters.includes('otlp')) return undefined;
  const protocol =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
  let exporter: SpanExporter;
  if (protocol === 'http/protobuf') exporter = new ProtobufExporter();
  else if (protocol === 'http/json') exporter = new JsonExporter();
  else
    throw new BulkheadError(
      'bad_request',
      `OTEL_EXPORTER_OTLP_PROTOCOL: expected http/protobuf or http/json, found "${protocol}" (grpc is not supported)`,
    );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'bulkhead' }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // Installs the AsyncLocalStorage context manager and the W3C propagators, process-wide.
  provider.register();
  return createTracing(provider.getTracer('bulkhead'), () => provider.shutdown());
}

export function createTracing(
  tracer: Tracer,
  shutdown: () => Promise<void> = async () => undefined,
): Tracing {
  const inSpan = async <T>(span: Span, run: () => Promise<T>, settle: (value: T) => void): Promise<T> => {
    try {
      const value = await run();
      settle(value);
      return value;
    } catch (error) {
      // The error's message may quote what the upstream said: only its type is recorded.
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      span.end();
    }
  };
  const hook: PipelineHook = {
    call: (call, next) =>
      tracer.startActiveSpan(
        'tools/call',
        {
          kind: SpanKind.SERVER,
          attributes: {
            'rpc.system': 'mcp',
            'rpc.method': 'tools/call',
            'bulkhead.run_id': call.run.id,
            'bulkhead.profile': call.profileName,
          },
        },
        (span) =>
          inSpan(span, next, (outcome) => {
            // Only a name the catalog resolved: an agent's made-up name stays out.
            if (call.tool) span.setAttribute('bulkhead.tool', call.tool.exposed);
            span.setAttribute('bulkhead.decision', outcome.decision);
            if (outcome.decision === 'deny') {
              span.setAttribute('bulkhead.denial.code', outcome.denial.code);
              span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.denial.code });
            }
          }),
      ),
    stage: (call, stage, next) =>
      tracer.startActiveSpan(`stage ${stage}`, { attributes: { 'bulkhead.stage': stage } }, (span) => {
        const settle = (result: Awaited<ReturnType<typeof next>>) => {
          span.setAttribute('bulkhead.decision', result.ok ? 'continue' : 'deny');
          if (!result.ok) span.setAttribute('bulkhead.denial.code', result.denial.code);
        };
        if (stage !== 'execute' || !call.tool) return inSpan(span, next, settle);
        const upstream = call.tool.upstream;
        const original = call.tool.original;
        return inSpan(
          span,
          () =>
            tracer.startActiveSpan(
              `tools/call ${upstream}`,
              {
                kind: SpanKind.CLIENT,
                attributes: {
                  'rpc.system': 'mcp',
                  'rpc.method': 'tools/call',
                  'bulkhead.upstream': upstream,
                  'bulkhead.upstream.tool': original,
                },
              },
              (client) => inSpan(client, next, settle),
            ),
          settle,
        );
      }),
  };
  return {
    tracer,
    hook,
    fetch: (url, init, base = fetch) => {
      const headers = new Headers(init?.headers);
      propagation.inject(context.active(), headers, { set: (h, key, value) => h.set(key, value) });
      return base(url, { ...init, headers });
    },
    llmRequest: (attributes, run) =>
      tracer.startActiveSpan(
        `llm ${attributes.method} ${attributes.path}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': attributes.method,
            'url.path': attributes.path,
            ...(attributes.runId ? { 'bulkhead.run_id': attributes.runId } : {}),
          },
        },
        (span) =>
          inSpan(
            span,
            () => run(span),
            () => undefined,
          ),
      ),
    shutdown,
  };
}
