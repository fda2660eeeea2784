/**
 * MCP sessions that outlive the process that opened them. A session lives in
 * the memory of the gateway that opened it; after a restart (kill -9, an
 * upgrade) or behind a load balancer that sends the next request to another
 * replica, its id is unknown, and the spec's answer, 404, leaves an agent
 * built on the MCP SDK client without tools: the client reports the 404 and
 * does not initialise again by itself (Claude Code does, on its own).
 *
 * So a session id names the run it belongs to (`<uuid>.<tag>`, the tag a hash
 * of the run id), and a request that presents an unknown id with a valid
 * token of that same run reopens the session under the same id: the new
 * transport is initialised on the agent's behalf with the protocol version
 * the request carries, and the request goes on as if nothing happened. The id
 * is no credential (the token is, and is checked first): the tag only keeps
 * one run from reopening another run's session id. What the first process
 * knew of the client (its declared capabilities, its name) is not carried
 * over; bulkhead asks nothing of them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { SessionTransport } from './session-transport.js';

function tagOf(runId: string): string {
  return createHash('sha256').update(`bulkhead-session:${runId}`).digest('hex').slice(0, 16);
}

/** A new session id for a session of `runId`. */
export function newSessionId(runId: string): string {
  return `${randomUUID()}.${tagOf(runId)}`;
}

/** Whether `sessionId` was made by `newSessionId` for this run (and so may be reopened by it). */
export function belongsTo(sessionId: string, runId: string): boolean {
  // Exactly the shape made above: a client cannot pick a long or odd id for a session it reopens.
  return SESSION_ID.test(sessionId) && sessionId.slice(37) === tagOf(runId);
}

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[0-9a-f]{16}$/;

/**
 * Initialises a fresh transport (made to take `sessionId`) as the agent did
 * when it first connected, with the protocol version `request` carries. True
 * when the transport now serves the session.
 */
export async function initializeOnBehalf(
  transport: SessionTransport,
  sessionId: string,
  request: Request,
): Promise<boolean> {
  const asked = request.headers.get('mcp-protocol-version');
  const protocolVersion =
    asked && SUPPORTED_PROTOCOL_VERSIONS.includes(asked) ? asked : LATEST_PROTOCOL_VERSION;
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  const initialize = {
    jsonrpc: '2.0' as const,
    id: 0,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'resumed-session', version: '0' } },
  };
  const opened = await transport.handleRequest(
    new Request(request.url, { method: 'POST', headers, body: JSON.stringify(initialize) }),
    { parsedBody: initialize },
  );
  await opened.body?.cancel();
  if (!opened.ok || transport.sessionId !== sessionId) return false;
  const initialized = { jsonrpc: '2.0' as const, method: 'notifications/initialized' };
  const acknowledged = await transport.handleRequest(
    new Request(request.url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion },
      body: JSON.stringify(initialized),
    }),
    { parsedBody: initialized },
  );
  await acknowledged.body?.cancel();
  return acknowledged.ok;
}
