/**
 * The SDK's web-standard Streamable HTTP server transport, for one agent
 * session, with two things the SDK does not do:
 *
 * - It knows which JSON-RPC request ids are in flight, so the endpoint can
 *   refuse a second request with an id already in flight. The SDK maps
 *   answers by id alone: a duplicate would take over the first one's answer
 *   (the second caller gets the first's result, the first never gets one).
 * - In plain-JSON answer mode the SDK keeps one entry per request after
 *   answering it (its SSE path cleans up, its JSON path does not), so a
 *   session's memory grew with every call. The entry is dropped here once the
 *   answer has been handed over.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

/** The SDK transport's private maps this class tidies (checked at construction). */
interface SdkInternals {
  _streamMapping: Map<string, { resolveJson?: unknown }>;
  _requestToStreamMapping: Map<RequestId, string>;
}

export function requestKey(id: RequestId): string {
  return `${typeof id}:${String(id)}`;
}

export class SessionTransport extends WebStandardStreamableHTTPServerTransport {
  /** Ids (see `requestKey`) of requests accepted and not yet answered. */
  readonly inFlight = new Set<string>();
  private readonly internals: SdkInternals | undefined;

  constructor(options: ConstructorParameters<typeof WebStandardStreamableHTTPServerTransport>[0]) {
    super(options);
    const maybe = this as unknown as Partial<SdkInternals>;
    this.internals =
      maybe._streamMapping instanceof Map && maybe._requestToStreamMapping instanceof Map
        ? (maybe as SdkInternals)
        : undefined;
  }

  override async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const id = 'id' in message && !('method' in message) ? message.id : undefined;
    if (id === undefined || id === null) return super.send(message, options);
    const streamId = this.internals?._requestToStreamMapping.get(id);
    try {
      await super.send(message, options);
    } finally {
      this.inFlight.delete(requestKey(id));
      const internals = this.internals;
      // Answered (the SDK dropped the request's mapping): a JSON-mode entry has done its job.
      if (internals && streamId !== undefined && !internals._requestToStreamMapping.has(id)) {
        if (internals._streamMapping.get(streamId)?.resolveJson) internals._streamMapping.delete(streamId);
      }
    }
  }

  /** Entries the SDK holds for this session; flat when nothing leaks (tests read it). */
  retained(): number | undefined {
    const internals = this.internals;
    return internals && internals._streamMapping.size + internals._requestToStreamMapping.size;
  }
}
