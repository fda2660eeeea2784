/**
 * Heuristics for prompt injection in tool output. They cannot prove intent and
 * are not a boundary: a hit flags the result and taints the run, so flow rules
 * (not the model's judgement) decide what the run may do next. Each heuristic
 * names the attack it looks for. Patterns are bounded so that scanning a large
 * hostile output stays linear.
 */

export interface InjectionHit {
  heuristic: string;
  /** Offset of the hit in the scanned text. */
  at: number;
}

const HEURISTICS: readonly { id: string; pattern: RegExp }[] = [
  {
    // "Ignore previous instructions" and its paraphrases: overriding the operator's prompt.
    id: 'override_instructions',
    pattern:
      /\b(?:ignore|disregard|forget|override|bypass)\s{1,3}(?:all\s{1,3}|any\s{1,3})?(?:of\s{1,3})?(?:the\s{1,3}|your\s{1,3}|my\s{1,3})?(?:previous|prior|above|earlier|preceding|original|system|safety)?\s{0,3}(?:instructions|prompts?|rules|directions|guidelines|guardrails)\b/i,
  },
  {
    // Text speaking to the model rather than describing data: role hijack.
    id: 'addressed_to_model',
    pattern:
      /\b(?:(?:dear|attention|note to(?: the)?|hey)\s{1,3}(?:ai|assistant|model|llm|agent|claude|chatgpt|gpt)\b|(?:ai|assistant|claude|agent)\s{0,2}[,:]\s{0,3}(?:you must|please|ignore|do not|always|never|now)\b|you are now\b|from now on,? you\b|new (?:system )?instructions\s{0,3}:|your new (?:task|goal|instructions))/i,
  },
  {
    // Chat-template and system-prompt markers smuggled into data.
    id: 'role_markers',
    // A bare "System:" line is ordinary output (uname, dmesg); only one that goes on to address
    // the model counts.
    pattern:
      /<\|im_start\|>|<\|system\|>|<\|start_header_id\|>|\[INST\]|<<SYS>>|^\s{0,8}(?:system|assistant)\s{0,2}:\s{0,3}(?:you|ignore|from now|new instructions)\b/im,
  },
  {
    // <IMPORTANT> / <SYSTEM> blocks: the tool-poisoning shape seen in malicious MCP servers.
    id: 'instruction_block',
    pattern:
      /<\s{0,3}\/?\s{0,3}(?:important|system|instructions?|admin|system-reminder|critical)\b[^<>\n]{0,64}>/i,
  },
  {
    // Steering the agent to another tool: cross-tool escalation ("now call send_email with ...").
    id: 'addressed_to_tools',
    pattern:
      /\b(?:call|invoke|use|run|execute|trigger)\s{1,3}(?:the\s{1,3})?(?:tool|function)\s{1,3}[`'"]?[A-Za-z0-9_.-]{2,64}|\b(?:call|invoke|run)\s{1,3}[`'"]?[a-z0-9]{1,32}_[a-z0-9_]{1,48}[`'"]?\s{1,3}(?:with|using|passing)\b/i,
  },
  {
    // Instructions to move data out: exfiltration through a later external call.
    id: 'exfiltration_request',
    pattern:
      /\b(?:send|forward|post|upload|email|exfiltrate|leak|copy)\s{1,3}(?:all\s{1,3}|the\s{1,3}|your\s{1,3}|any\s{1,3})?(?:secrets?|credentials?|keys?|tokens?|passwords?|env(?:ironment)?(?: variables)?|files?|data|conversation|history)\b[^\n]{0,80}?\b(?:to|at)\s{1,3}(?:https?:\/\/|[A-Za-z0-9._%+-]{1,64}@)/i,
  },
  {
    // Concealment: asking the model to hide what it does from the user.
    id: 'concealment',
    pattern:
      /\b(?:do not|don't|never)\s{1,3}(?:tell|inform|mention|reveal|show|notify)\s{1,3}(?:this\s{1,3}to\s{1,3})?(?:the\s{1,3})?(?:user|human|operator)\b/i,
  },
];

/** Long encoded blobs can carry instructions or payloads past text filters. */
export const BLOB_LENGTH = 256;

export function findInjection(text: string): InjectionHit[] {
  const hits: InjectionHit[] = [];
  for (const { id, pattern } of HEURISTICS) {
    const m = pattern.exec(text);
    if (m) hits.push({ heuristic: id, at: m.index });
  }
  return hits;
}

/**
 * The first run of at least BLOB_LENGTH base64 or hex characters. One pass that counts the
 * current run of each alphabet: a regex like /[A-Za-z0-9+/]{256}/ restarts at every position.
 */
export function findEncodedBlob(text: string): InjectionHit | null {
  let b64Run = 0;
  let hexRun = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const hex = (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
    const b64 = hex || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47;
    hexRun = hex ? hexRun + 1 : 0;
    b64Run = b64 ? b64Run + 1 : 0;
    if (hexRun >= BLOB_LENGTH) return { heuristic: 'hex_blob', at: i + 1 - hexRun };
    if (b64Run >= BLOB_LENGTH) {
      // Keep reading while the run is also hex, so a hex dump is named as such.
      let j = i + 1;
      while (j < text.length && hexRun < BLOB_LENGTH && isHex(text.charCodeAt(j))) {
        hexRun++;
        j++;
      }
      if (hexRun >= BLOB_LENGTH) return { heuristic: 'hex_blob', at: i + 1 - b64Run };
      return { heuristic: 'base64_blob', at: i + 1 - b64Run };
    }
  }
  return null;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
