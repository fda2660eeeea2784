/**
 * The OpenAI Responses API (`/v1/responses`), the third front door of the LLM
 * proxy, spoken by OpenAI's Codex CLI and the `openai` SDK's `responses`:
 * same run token, budgets, model allow-list, scrubbing and side-door rules as
 * the other two; the streamed events are handled in responses-sse.ts.
 *
 * The Responses API can keep state and act upstream, outside bulkhead's view,
 * so the request side decides what may pass:
 *   - state held by the API: `store` is sent as `false` unless the agent asks
 *     for `true` and the profile lists `store` in `llm.body_fields`;
 *     `previous_response_id`, `conversation` and `prompt` (stored prompts)
 *     are unknown fields, refused unless listed there. Such a request is still
 *     reserved and settled from the API's real usage, which counts the stored
 *     context too; only its input estimate does not see that context.
 *   - `background: true` is refused whatever the profile says: its answer and
 *     usage arrive later on an endpoint bulkhead does not serve, so it could
 *     not be settled or scrubbed.
 *   - server tools (`web_search`, `file_search`, `code_interpreter`,
 *     `image_generation`, ...) are refused unless in `llm.server_tools`; an
 *     `mcp` tool (the API calls the server itself) needs its `server_url` in
 *     `llm.mcp_servers`, and a connector (`connector_id`) is refused; tools
 *     the client runs (function, custom, local_shell, shell, apply_patch,
 *     computer use, and `namespace` groups of them) pass, but a `shell`
 *     with a hosted `environment` is a server tool, and a container named
 *     by id needs `container` in `llm.body_fields`.
 *   - content the API would fetch or look up: an image or file by URL, or by
 *     `file_id` (a file stored in the account), is refused unless
 *     `llm.url_sources`.
 */
import type { ProfileLlm } from '../policy/schema/llm.js';
import { isObject, type Json } from './json.js';
import { cachedUsage } from './openai.js';
import { CLIENT_TOOLS, runsHosted } from './server-loops.js';
import {
  allowedUrl,
  betaOrFieldDoor,
  dearTierDoor,
  firstPath,
  logprobsDoor,
  type SideDoor,
  sideDoorRefusal,
  toolFamily,
} from './side-doors.js';
import { EMPTY_USAGE, type MessageUsage } from './usage.js';

/**
 * max_output_tokens when the agent sets none (Codex never does): a bound to reserve against,
 * large enough for a reasoning model's turn (reasoning tokens count as output).
 */
export const RESPONSES_DEFAULT_MAX_TOKENS = 32_768;

const KNOWN_FIELDS = new Set([
  'model',
  'input',
  'instructions',
  'max_output_tokens',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'top_logprobs',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'max_tool_calls',
  'reasoning',
  'text',
  'truncation',
  'include',
  'metadata',
  'client_metadata',
  'user',
  'safety_identifier',
  'prompt_cache_key',
  'prompt_cache_retention',
  'service_tier',
  'store',
  'background',
]);

export function responsesSideDoor(
  body: Json,
  betaHeader: string | null,
  allowed: ProfileLlm,
): SideDoor | undefined {
  const unknown = betaOrFieldDoor(body, betaHeader, allowed, KNOWN_FIELDS);
  if (unknown) return unknown;
  const tier = dearTierDoor(body, allowed);
  if (tier) return tier;
  const logprobs = logprobsDoor(body, allowed);
  if (logprobs) return logprobs;
  if (body.store === true && !allowed.body_fields.includes('store'))
    return sideDoorRefusal('store', 'keeping the response in the API (store: true)', 'body_fields');
  if (body.background !== undefined && body.background !== false)
    return {
      field: 'background',
      message:
        'a background response is never allowed: its answer and usage would arrive where bulkhead cannot count or scrub them',
    };
  const tools = Array.isArray(body.tools) ? body.tools : body.tools === undefined ? [] : [body.tools];
  const door = toolDoor(tools, 'tools', allowed);
  if (door) return door;
  // An input item by reference is state stored in the API, as `previous_response_id` is (which
  // other runs on the same key could have stored): allowed with it, never on its own.
  if (!allowed.body_fields.includes('previous_response_id')) {
    const ref = firstPath(body.input, 'input', (item, at) =>
      item.type === 'item_reference' ? at : undefined,
    );
    if (ref)
      return sideDoorRefusal(
        `${ref}.type`,
        'an item stored in the API (item_reference, allowed where previous_response_id is)',
        'body_fields',
      );
  }
  if (!allowed.url_sources) {
    // A code interpreter's container loaded with files stored in the account, by id.
    const stored = firstPath(body.tools, 'tools', (tool, at) =>
      Array.isArray(tool.file_ids) && tool.file_ids.length > 0 ? `${at}.file_ids` : undefined,
    );
    if (stored)
      return sideDoorRefusal(stored, `the files at ${stored}, stored in the account,`, 'url_sources');
    const found = fetchedInput(body.input, 'input');
    if (found)
      return sideDoorRefusal(found, `the content at ${found}, fetched by URL or file id,`, 'url_sources');
  }
  return undefined;
}

function toolDoor(tools: unknown[], path: string, allowed: ProfileLlm): SideDoor | undefined {
  for (const [i, tool] of tools.entries()) {
    const type = isObject(tool) ? tool.type : undefined;
    const hosted = isObject(tool)
      ? (providerContainer(tool, `${path}[${i}]`, allowed) ?? onlineContainer(tool, `${path}[${i}]`, allowed))
      : undefined;
    if (hosted) return hosted;
    if (typeof type === 'string' && CLIENT_TOOLS.has(type) && !runsHosted(tool)) continue;
    if (type === 'namespace' && isObject(tool)) {
      // A group of the client's own tools; what it groups is checked like any tool.
      const inner = Array.isArray(tool.tools) ? tool.tools : [];
      const door = toolDoor(inner, `${path}[${i}].tools`, allowed);
      if (door) return door;
      continue;
    }
    if (type === 'mcp' && isObject(tool)) {
      const url = tool.server_url;
      if (tool.connector_id === undefined && typeof url === 'string' && allowedUrl(url, allowed.mcp_servers))
        continue;
      return sideDoorRefusal(
        `${path}[${i}].server_url`,
        `the MCP server ${JSON.stringify(url ?? tool.connector_id ?? null)}`,
        'mcp_servers',
      );
    }
    const name = String(type ?? null);
    const field = runsHosted(tool) ? `${path}[${i}].environment` : `${path}[${i}].type`;
    if (!allowed.server_tools.includes(name) && !allowed.server_tools.includes(toolFamily(name)))
      return sideDoorRefusal(field, `the server tool ${JSON.stringify(name)}`, 'server_tools');
  }
  return undefined;
}

/**
 * A container of the account named by id (a hosted shell's `container_reference`, a code
 * interpreter's `container: "cntr_..."`): another run, or another agent on the same key, filled
 * it, so its files are open-world. Refused unless the profile lists `container` in
 * `llm.body_fields`, as the Messages API's `container` field is.
 */
function providerContainer(tool: Json, at: string, allowed: ProfileLlm): SideDoor | undefined {
  if (allowed.body_fields.includes('container')) return undefined;
  const env = tool.environment;
  // Skills loaded into a new container are code stored in the account, as Messages' `container.skills`.
  const skills = isObject(env) && Array.isArray(env.skills) && env.skills.length > 0;
  const named =
    tool.type === 'shell' && isObject(env) && env.type !== 'local' && env.type !== 'container_auto'
      ? `${at}.environment`
      : tool.type === 'shell' && skills
        ? `${at}.environment.skills`
        : tool.type === 'code_interpreter' && tool.container !== undefined && !newContainer(tool.container)
          ? `${at}.container`
          : undefined;
  return named
    ? sideDoorRefusal(named, `the container at ${named}, the account's, not the run's,`, 'body_fields')
    : undefined;
}

/**
 * A container the API makes with a `network_policy` other than `disabled`: code the model writes
 * there reaches the hosts it allows, from the provider's network, whatever the sandbox's egress
 * says. Refused unless the profile lists `network_policy` in `llm.body_fields`.
 */
function onlineContainer(tool: Json, at: string, allowed: ProfileLlm): SideDoor | undefined {
  if (allowed.body_fields.includes('network_policy')) return undefined;
  const [key, spec] =
    tool.type === 'shell' ? ['environment', tool.environment] : ['container', tool.container];
  if (!isObject(spec) || spec.network_policy === undefined || spec.network_policy === null) return undefined;
  const policy = spec.network_policy;
  if (isObject(policy) && policy.type === 'disabled') return undefined;
  const field = `${at}.${key}.network_policy`;
  return sideDoorRefusal(field, `network access for the container at ${field}`, 'body_fields');
}

/** A container the API makes for this request (`{type: "auto"}`), not one named by id. */
const newContainer = (container: unknown) => isObject(container) && container.type === 'auto';

/** The path of the first input part the API would fetch (a URL) or look up (a stored file). */
function fetchedInput(value: unknown, path: string): string | undefined {
  return firstPath(value, path, (part, at) => {
    if (part.type !== 'input_image' && part.type !== 'input_file') return undefined;
    // Anything but inline data is a fetch, whatever shape it is written in (a string, an object with a url).
    if (part.image_url !== undefined) {
      const url = isObject(part.image_url) ? part.image_url.url : part.image_url;
      if (typeof url !== 'string' || !url.startsWith('data:')) return `${at}.image_url`;
    }
    if (part.file_url !== undefined) return `${at}.file_url`;
    if (part.file_id !== undefined) return `${at}.file_id`;
    return undefined;
  });
}

export function responsesRequested(body: Json): number {
  const asked = body.max_output_tokens;
  return typeof asked === 'number' && asked > 0 ? Math.floor(asked) : RESPONSES_DEFAULT_MAX_TOKENS;
}

export function responsesWithMaxTokens(body: Json, max: number): Json {
  // The API stores responses unless told not to; `store: true` got here only if the profile allows it.
  return { ...body, max_output_tokens: max, store: body.store === true };
}

/** Responses usage as the ledger counts it: cached input tokens are cache reads; reasoning is output. */
export function responsesUsage(usage: unknown): MessageUsage {
  if (!isObject(usage)) return EMPTY_USAGE;
  return cachedUsage(usage.input_tokens, usage.input_tokens_details, usage.output_tokens);
}
