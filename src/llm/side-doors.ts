/**
 * Default-deny for what the Messages API would do on the agent's behalf
 * beyond answering: server tools, the MCP connector, URL fetches of images
 * and documents, betas, and request fields bulkhead does not know (the next
 * side door will arrive as a new field or a new tool type). Whatever a
 * profile does not allow (see policy/schema/llm.ts) is refused before
 * anything is sent, naming the field, so an agent whose egress is closed
 * cannot have the API fetch `https://evil.test/?d=<data>` instead.
 *
 * Client tools (the agent's own definitions, run by the agent inside the
 * sandbox) stay allowed, and so do the Anthropic-defined tools that the
 * client executes (bash, text editor, computer use, memory).
 */
import type { ProfileLlm } from '../policy/schema/llm.js';

export interface SideDoor {
  /** The request field that opened it, as a path (`tools[2].type`, `anthropic-beta`). */
  field: string;
  message: string;
}

/** Request fields that ask the API for nothing beyond an answer. */
const KNOWN_FIELDS = new Set([
  'model',
  'messages',
  'system',
  'max_tokens',
  'metadata',
  'stop_sequences',
  'stream',
  'temperature',
  'top_k',
  'top_p',
  'tools',
  'tool_choice',
  'thinking',
  'service_tier',
  'context_management',
  'output_format',
  'output_config',
  // Not `container`: a code-execution container is the account's, not the run's. Naming one that
  // another run (or another agent) filled reads its files, and `container.skills` loads code; a
  // profile that lists it in `llm.body_fields` accepts that.
  'mcp_servers',
]);

/** Anthropic-defined tools the client runs itself: they reach nothing the sandbox does not allow. */
const CLIENT_EXECUTED =
  /^(bash|text_editor|str_replace_editor|str_replace_based_edit_tool|computer|memory)(_\d{8})?$/;

/**
 * Whether a Messages tool runs on the provider's side (a server tool): any typed tool but the
 * agent's own (`custom`) and the Anthropic-defined ones the client executes.
 */
export function serverTool(type: unknown): boolean {
  if (type === undefined || type === null || type === 'custom') return false;
  return !(typeof type === 'string' && CLIENT_EXECUTED.test(type));
}

/** The tool type without its version date: `web_search_20250305` → `web_search`. */
export function toolFamily(type: string): string {
  return type.replace(/_\d{8}$/, '');
}

function where(field: string, rule: string): string {
  return `${field} is not allowed for this run (profile setting llm.${rule})`;
}

/** The refusal for `what`, opened at `field`, which the profile setting `llm.<rule>` would allow. */
export function sideDoorRefusal(field: string, what: string, rule: string): SideDoor {
  return { field, message: where(what, rule) };
}

/**
 * The doors every API shares: an `anthropic-beta` flag the profile does not allow, or a request
 * field outside the API's `known` ones (the next side door arrives as a new field) that the
 * profile does not list in `llm.body_fields`.
 */
export function betaOrFieldDoor(
  body: Record<string, unknown>,
  betaHeader: string | null,
  allowed: ProfileLlm,
  known: ReadonlySet<string>,
): SideDoor | undefined {
  for (const beta of (betaHeader ?? '').split(',').map((b) => b.trim())) {
    if (beta && !allowed.betas.includes(beta))
      return sideDoorRefusal('anthropic-beta', `beta ${JSON.stringify(beta)}`, 'betas');
  }
  for (const field of Object.keys(body)) {
    if (!known.has(field) && !allowed.body_fields.includes(field))
      return sideDoorRefusal(field, `the request field ${JSON.stringify(field)}`, 'body_fields');
  }
  return undefined;
}

/**
 * An OpenAI `service_tier` dearer than the prices the profile's USD budget counts (priority is
 * about twice standard): refused unless the profile lists `service_tier` in `llm.body_fields`.
 * `auto`, `default` and `flex` (cheaper) cost at most what the prices say.
 */
export function dearTierDoor(body: Record<string, unknown>, allowed: ProfileLlm): SideDoor | undefined {
  const tier = body.service_tier;
  if (tier === undefined || tier === null || tier === 'auto' || tier === 'default' || tier === 'flex')
    return undefined;
  if (allowed.body_fields.includes('service_tier')) return undefined;
  return sideDoorRefusal('service_tier', `the service tier ${JSON.stringify(tier)}`, 'body_fields');
}

/**
 * Log probabilities (`logprobs`, `top_logprobs`, or `include: ["message.output_text.logprobs"]`
 * on the Responses API) send back, beside the answer, every token it is made of as text and as
 * UTF-8 bytes: a second copy of the answer in pieces of a few characters, which no scrubber can
 * read whole (a secret masked in the text was spelled by its tokens, and by their bytes, which
 * are numbers). Refused unless the profile lists `logprobs` in `llm.body_fields`.
 */
export function logprobsDoor(body: Record<string, unknown>, allowed: ProfileLlm): SideDoor | undefined {
  if (allowed.body_fields.includes('logprobs')) return undefined;
  const asked = (v: unknown) => v !== undefined && v !== null && v !== false && v !== 0;
  const what = 'log probabilities (every output token beside the scrubbed answer)';
  for (const field of ['logprobs', 'top_logprobs'])
    if (asked(body[field])) return sideDoorRefusal(field, `${what}, asked by ${field},`, 'body_fields');
  if (body.include !== undefined && JSON.stringify(body.include).toLowerCase().includes('logprobs'))
    return sideDoorRefusal('include', `${what}, asked by include,`, 'body_fields');
  return undefined;
}

export function findSideDoor(
  body: Record<string, unknown>,
  betaHeader: string | null,
  allowed: ProfileLlm,
): SideDoor | undefined {
  const door = betaOrFieldDoor(body, betaHeader, allowed, KNOWN_FIELDS);
  if (door) return door;
  if (body.mcp_servers !== undefined) {
    const servers = Array.isArray(body.mcp_servers) ? body.mcp_servers : [body.mcp_servers];
    for (const [i, server] of servers.entries()) {
      const url = (server as { url?: unknown } | null)?.url;
      if (typeof url !== 'string' || !allowedUrl(url, allowed.mcp_servers))
        return {
          field: `mcp_servers[${i}].url`,
          message: where(`the MCP server ${JSON.stringify(url ?? null)}`, 'mcp_servers'),
        };
    }
  }
  if (body.tools !== undefined) {
    const tools = Array.isArray(body.tools) ? body.tools : [body.tools];
    for (const [i, tool] of tools.entries()) {
      const type = (tool as { type?: unknown } | null)?.type;
      if (!serverTool(type)) continue;
      const name = String(type);
      if (!allowed.server_tools.includes(name) && !allowed.server_tools.includes(toolFamily(name)))
        return {
          field: `tools[${i}].type`,
          message: where(`the server tool ${JSON.stringify(name)}`, 'server_tools'),
        };
    }
  }
  if (!allowed.url_sources) {
    const found = urlSource(body.messages, 'messages') ?? urlSource(body.system, 'system');
    if (found)
      return { field: found, message: where(`the content at ${found}, fetched by URL,`, 'url_sources') };
  }
  return undefined;
}

/** Whether `url` is one of `list`, compared as parsed URLs; a URL that does not parse is not. */
export function allowedUrl(url: string, list: readonly string[]): boolean {
  let href: string;
  try {
    href = new URL(url).href;
  } catch {
    return false;
  }
  return list.some((entry) => new URL(entry).href === href);
}

/**
 * The path of the first object in `value` (depth first) for which `at` finds a door, with that
 * door's path. The body's nesting is already bounded (body.ts), so the walk is too.
 */
export function firstPath(
  value: unknown,
  path: string,
  at: (object: Record<string, unknown>, path: string) => string | undefined,
): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = firstPath(item, `${path}[${i}]`, at);
      if (found) return found;
    }
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const here = at(value as Record<string, unknown>, path);
  if (here) return here;
  for (const [key, item] of Object.entries(value)) {
    if (item && typeof item === 'object') {
      const found = firstPath(item, `${path}.${key}`, at);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The path of the first content block whose source the API would fetch by URL or look up by file id
 * (images, documents, also inside tool results; a `container_upload` of a stored file).
 */
function urlSource(value: unknown, path: string): string | undefined {
  return firstPath(value, path, (object, at) => {
    const source = object.source;
    // A `file` source is looked up in the account's stored files: as open as a URL, never the run's own.
    const type = source && typeof source === 'object' ? (source as { type?: unknown }).type : undefined;
    if (type === 'url' || type === 'file') return `${at}.source`;
    // A file of the account copied into the code-execution container by its id.
    return object.type === 'container_upload' ? `${at}.file_id` : undefined;
  });
}
