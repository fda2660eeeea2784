/**
 * Stage 10, record: the audit event for the decision is durable before the
 * response leaves. It runs for every call, allowed or denied. Arguments and
 * results pass the scrubber inside the event writer.
 */
import type { NewEvent } from '../events/event.js';
import type { EventWriter } from '../events/writer.js';
import { measureJson } from './measure-json.js';
import type { Finalizer } from './pipeline.js';

/** How much of a result the audit trail keeps; the size is always recorded. */
export const RESULT_PREVIEW_BYTES = 4096;

export function recordFinalizer(deps: { events: EventWriter; now: () => number }): Finalizer {
  const run: Finalizer['run'] = async (call, outcome) => {
    const decision = outcome.decision;
    const denied = outcome.decision === 'deny' ? outcome.denial : undefined;
    const content = call.result?.content ?? [];
    // Size and preview without serialising a large result whole (the answer is serialised again
    // on its way out): long strings are measured, and only their head is serialised.
    const measured = call.result
      ? measureJson(content, RESULT_PREVIEW_BYTES)
      : { bytes: 0, head: '', whole: true };
    // Members set one by one in the order the spreads gave them: no throwaway object per member.
    const data: Record<string, unknown> = { arguments: call.args ?? clipArgs(call.rawArgs) };
    if (denied) {
      data.message = denied.message;
      if (denied.detail) data.detail = denied.detail;
    }
    if (call.upstreamMs !== undefined) data.upstreamMs = round(call.upstreamMs);
    data.totalMs = round(deps.now() - call.startedAt);
    if (call.result) {
      const { structuredContent, _meta } = call.result;
      data.resultBytes = measured.bytes;
      data.isError = call.result.isError === true;
      data.result = preview(content, measured);
      // A client shows structured content and reads _meta as well as, or instead of, content: the
      // trail keeps what the agent was shown, not only the part an upstream made look harmless.
      if (structuredContent !== undefined) {
        const structured = auditPreview(structuredContent);
        data.resultBytes = measured.bytes + structured.bytes;
        data.structuredContent = structured.preview;
      }
      if (_meta !== undefined) data.resultMeta = auditPreview(_meta).preview;
    }
    if (call.flags.length) data.flags = call.flags;
    if (call.approvalId) data.approvalId = call.approvalId;
    if (call.flow) data.flow = call.flow;
    const event: NewEvent = {
      kind: 'tools/call',
      runId: call.run.id,
      tool: call.tool?.exposed ?? clip(String(call.name), 80),
      decision,
      code: denied?.code ?? null,
      actor: `run:${call.run.id}`,
      data,
    };
    if (!call.intentId) {
      await deps.events.write(event);
      return;
    }
    // Closing the intent and writing its event are one transaction. If a replica already
    // reconciled it (it thought this one dead), the real outcome is still recorded after it.
    const closed = await deps.events.writeClosing(event, call.intentId);
    if (!closed) {
      await deps.events.write({
        ...event,
        data: { ...event.data, intentId: call.intentId, lateOutcome: true },
      });
    }
  };
  return { name: 'record', run };
}

/** Refused arguments are kept for forensics, but bounded: a 10 MB payload is not copied into the log. */
function clipArgs(raw: unknown): unknown {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? 'null';
  } catch {
    return '[unserializable]';
  }
  return text.length <= RESULT_PREVIEW_BYTES
    ? raw
    : `${text.slice(0, RESULT_PREVIEW_BYTES)}… (${text.length} bytes)`;
}

/** The value itself when its JSON fits the preview, else the head of its JSON, marked as cut. */
function preview(value: unknown, measured: { head: string; whole: boolean }): unknown {
  return measured.whole ? value : `${measured.head}…`;
}

/** What the audit trail keeps of a value the agent was shown: its JSON size and a bounded preview. */
export function auditPreview(value: unknown): { bytes: number; preview: unknown } {
  const measured = measureJson(value, RESULT_PREVIEW_BYTES);
  return { bytes: measured.bytes, preview: preview(value, measured) };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
