/**
 * Pretty-printed, highlighted JSON for arguments and results. Values arrive
 * scrubbed from the API and are rendered as text nodes only (never as HTML),
 * so tool output cannot inject markup. Long strings and big arrays/objects
 * are collapsed behind a button, so one 50 KB argument does not bury the rest.
 */
import { useState } from 'preact/hooks';
import { shownJson, shownKeys } from '../json-text.js';

const LONG_STRING = 160;
const MANY_ITEMS = 25;

export function JsonView({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" data-label={label}>
      <Value value={value} indent={0} />
    </pre>
  );
}

function Value({ value, indent }: { value: unknown; indent: number }) {
  if (value === null) return <span class="j-null">null</span>;
  if (typeof value === 'string') return <StringValue value={value} indent={indent} />;
  if (typeof value === 'number') return <span class="j-num">{String(value)}</span>;
  if (typeof value === 'boolean') return <span class="j-bool">{String(value)}</span>;
  if (Array.isArray(value))
    return <Collection entries={value.map((v, i) => [String(i), v])} array indent={indent} />;
  if (typeof value === 'object')
    return <Collection entries={Object.entries(value)} array={false} indent={indent} />;
  return <span class="j-null">{String(value)}</span>;
}

/**
 * Tool results are usually JSON inside a text field; showing it parsed reads
 * far better than a wall of escaped quotes. Only objects and arrays qualify.
 */
function embeddedJson(value: string): object | undefined {
  const t = value.trimStart();
  if (!(t.startsWith('{') || t.startsWith('[')) || value.length > 200_000) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function StringValue({ value, indent }: { value: string; indent: number }) {
  const [open, setOpen] = useState(false);
  const embedded = embeddedJson(value);
  if (embedded) {
    return (
      <>
        <span class="j-embedded" title="A JSON string, shown parsed">
          json
        </span>
        <Value value={embedded} indent={indent} />
      </>
    );
  }
  const redacted = value.includes('[REDACTED');
  const cls = `j-str${redacted ? ' j-redacted' : ''}`;
  if (value.length <= LONG_STRING || open) return <span class={cls}>{shownJson(value)}</span>;
  return (
    <span class={cls}>
      {shownJson(value.slice(0, LONG_STRING)).slice(0, -1)}…"
      <button type="button" class="j-more" onClick={() => setOpen(true)}>
        show {value.length - LONG_STRING} more characters
      </button>
    </span>
  );
}

function Collection({
  entries,
  array,
  indent,
}: {
  entries: [string, unknown][];
  array: boolean;
  indent: number;
}) {
  const [open, setOpen] = useState(entries.length <= MANY_ITEMS);
  const [openB, closeB] = array ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return <span class="j-punct">{openB + closeB}</span>;
  const pad = '  '.repeat(indent + 1);
  const shown = open ? entries : entries.slice(0, 3);
  // Judged among all siblings, shown or not: `PАTH` is written out beside a `PATH` still folded.
  const keyTexts = array ? [] : shownKeys(entries.map(([key]) => key));
  return (
    <>
      <span class="j-punct">{openB}</span>
      {'\n'}
      {shown.map(([key, v], i) => (
        <span key={key}>
          {pad}
          {array ? null : (
            <>
              <span class="j-key">{keyTexts[i]}</span>
              <span class="j-punct">: </span>
            </>
          )}
          <Value value={v} indent={indent + 1} />
          {i < entries.length - 1 ? <span class="j-punct">,</span> : null}
          {'\n'}
        </span>
      ))}
      {open ? null : (
        <>
          {pad}
          <button type="button" class="j-more" onClick={() => setOpen(true)}>
            show {entries.length - shown.length} more {array ? 'items' : 'keys'}
          </button>
          {'\n'}
        </>
      )}
      {'  '.repeat(indent)}
      <span class="j-punct">{closeB}</span>
    </>
  );
}
