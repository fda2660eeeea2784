/**
 * What an agent is shown of a tool before it calls it is tool output too: an
 * upstream writes the title, description, schemas, icons and `_meta`, and a
 * client may put any of them in front of the model. Every string of the
 * definition as served (keys included) is stripped of hidden characters and
 * escapes, then scrubbed of secrets, and forged `_meta` keys in bulkhead's
 * namespace are dropped. Findings name the field, so an operator can see which
 * upstream tried what.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { cleanDeep } from './deep.js';
import { stripHidden } from './hidden.js';
import type { InspectFinding } from './index.js';

export interface CleanedDefinition<T = Tool> {
  definition: T;
  findings: InspectFinding[];
}

/** A tool, resource, resource template or prompt definition, cleaned for serving. */
export function cleanDefinition<T extends object = Tool>(
  tool: T,
  scrub: (text: string) => string,
): CleanedDefinition<T> {
  const findings: InspectFinding[] = [];
  const definition = cleanDeep(tool, {
    text: (text, path) => {
      let cleaned = stripHidden(text);
      // Removing a hidden character can join a secret to the word after it, out of its rule's
      // reach: scrub the raw text first wherever something is removed.
      if (cleaned.text !== text) cleaned = { ...cleaned, text: stripHidden(scrub(text)).text };
      const where = path || 'name';
      if (cleaned.escapes > 0)
        findings.push({ kind: 'escape_sequences', detail: `${where}: ${cleaned.escapes} removed` });
      if (cleaned.hidden > 0)
        findings.push({ kind: 'hidden_characters', detail: `${where}: ${cleaned.hidden} removed` });
      if (cleaned.smuggled) findings.push({ kind: 'injection_suspected', detail: `${where}: smuggled_text` });
      const scrubbed = scrub(cleaned.text);
      if (scrubbed !== cleaned.text) findings.push({ kind: 'secret_redacted', detail: where });
      return scrubbed;
    },
    onForgedMeta: (key, path) => findings.push({ kind: 'forged_meta', detail: `${path}: ${key}` }),
  }) as T;
  return { definition, findings };
}
