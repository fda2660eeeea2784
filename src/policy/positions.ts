/**
 * Line and column of a path in policy text, for findings about a policy that
 * already loaded (lint, audit SARIF). Re-parses the text rather than sharing
 * the loader's document, so callers need nothing but the file. A path that is
 * not in the text (a default filled in by the schema) resolves to its
 * nearest written ancestor, and an empty document to 1:1.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

export type Locator = (path: readonly (string | number)[]) => Position;

export function policyLocator(text: string): Locator {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  return (path) => {
    let node = doc.contents as Node | null | undefined;
    // The key of a mapping entry is where a person looks for it.
    let anchor: Node | null | undefined = node;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
        if (!pair) break;
        anchor = pair.key as Node;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof part === 'number') {
        const item = node.items[part] as Node | undefined;
        if (!item) break;
        anchor = item;
        node = item;
      } else break;
    }
    const pos = lines.linePos(anchor?.range?.[0] ?? 0);
    return { line: pos.line, column: pos.col };
  };
}
