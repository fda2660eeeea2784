/**
 * The scrubber's throughput targets (issue 15 point 4, issue 13 point 5), measured so that a
 * row's figure does not depend on which rows ran before it:
 *
 * - every input goes through every contender's every path (plain and with configured secrets)
 *   three times before anything is measured, so no row pays for compiling code the others share;
 * - then REPETITIONS rounds, each measuring every row once, in an order rotated round by round
 *   (and with the contenders alternating), so a burst from a neighbour or a collection lands on
 *   different rows in different rounds instead of on whichever row came after another;
 * - each figure is CPU time (`process.cpuUsage`, the whole process) of one call on 1 MiB (one row
 *   on 4 MiB, to show the worst case stays linear); a row reports the median over the rounds and
 *   the spread (lowest and highest round).
 *
 * With `against` (a `src/scrub` folder of another build, e.g. main's exported with `git archive`),
 * both scrubbers are measured call by call in the same rounds, and the ratio of medians is
 * reported: the figure to quote when the machine is shared.
 */
import { randomBytes } from 'node:crypto';

const MIB = 1 << 20;
/** Rounds per row (each one call per contender). */
export const REPETITIONS = 11;

export interface ScrubberLike {
  stream(): { push(chunk: string): string; flush(): string };
  text(input: string): string;
  addSecrets(values: Iterable<string>): void;
}
export type CreateScrubber = (options?: {
  secrets?: Iterable<string>;
  pii?: { email?: 'redact'; phone?: 'redact' };
}) => ScrubberLike;

export interface ThroughputRow {
  input: string;
  kind: ThroughputKind;
  /** Median CPU MB/s over the rounds, and the lowest and highest round. */
  cpuMBps: number;
  lowMBps: number;
  highMBps: number;
  /** Median wall-clock MB/s (the machine is shared: judged on CPU). */
  wallMBps: number;
  /** With a second build: its median CPU MB/s, and this build's median / its median. */
  against?: { cpuMBps: number; lowMBps: number; highMBps: number; ratio: number };
}

export function secretsOf(count: number): string[] {
  return Array.from({ length: count }, () => randomBytes(18).toString('base64url'));
}

/** A flat 1 MiB string of mixed realistic content (joined, not repeated, so V8 stores it flat). */
export function corpus(secrets: readonly string[]): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < MIB; i++) {
    const id = randomBytes(6).toString('hex');
    const line =
      i % 5 === 0
        ? `{"ts":"2026-11-24T08:${String(i % 60).padStart(2, '0')}:00Z","level":"info","req":"${id}","path":"/api/v1/items/${i}","status":200,"ms":${i % 97}}`
        : i % 5 === 1
          ? `2026-11-24 08:00:${String(i % 60).padStart(2, '0')} INFO worker-${i % 8} fetched https://api.example.com/v2/orders?page=${i} in ${i % 300}ms`
          : i % 5 === 2
            ? `The agent summarised ticket #${i}: the customer reports that exports time out after the upgrade; token budget ok.`
            : i % 5 === 3
              ? `SELECT id, name, email FROM users WHERE org_id = ${i} AND created_at > now() - interval '7 days';`
              : `    at processItem (/srv/app/dist/worker.js:${i % 900}:17) request_id=${id} user=u${i}`;
    lines.push(line);
    size += line.length + 1;
  }
  // A few real leaks so the replacement path is exercised too.
  for (let k = 0; k < 8 && k < secrets.length; k++) {
    lines[(k + 1) * 997] = `debug: using credential ${secrets[k]} for upstream`;
  }
  lines[4242] = `GITHUB_TOKEN=ghp_${randomBytes(27).toString('base64').replace(/[+/=]/g, 'x').slice(0, 36)}`;
  return lines.join('\n').slice(0, MIB);
}

/**
 * A 1 MiB HTML page as a fetch tool returns it: markup, prose with character references (`&amp;`
 * in links, `&#39;`, `&nbsp;`) about one every 75 characters, each value holding one an encoded
 * run (reference-runs.ts).
 */
export function htmlPage(): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < MIB; i++) {
    const part = `<li class="result"><a href="/docs/guide-${i}?tab=api&amp;lang=en">Guide ${i}</a> &mdash; it&#39;s the page on option <code>--level-${i % 9}</code>, see &quot;Limits&quot;&nbsp;below.</li>\n`;
    parts.push(part);
    size += part.length;
  }
  return parts.join('').slice(0, MIB);
}

/**
 * A 1 MiB page as the MCP fetch server returns it (markdownify): identifiers' underscores
 * escaped (`max\\_retries`), one every ~90 characters; each such word an escaped run.
 */
export function markdownPage(): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < MIB; i++) {
    const line = `- Set retry\\_limit\\_${i % 50} in the **client** config; the default is ${i % 7} and the upper bound 10.\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('').slice(0, MIB);
}

/** A 1 MiB JSON tool result: file listings with hashes, base64 thumbnails and prose. */
export function jsonToolOutput(): string {
  const items = [];
  let size = 0;
  for (let i = 0; size < MIB; i++) {
    const item = {
      path: `/srv/repo/src/module-${i % 97}/file-${i}.ts`,
      sha: randomBytes(20).toString('hex'),
      size: (i * 7919) % 100_000,
      mode: '100644',
      thumb: randomBytes(24).toString('base64'),
      summary: 'exports a helper used by the build; last touched by the release job',
    };
    items.push(item);
    size += JSON.stringify(item).length + 1;
  }
  return JSON.stringify({ content: [{ type: 'text', text: JSON.stringify(items) }] }).slice(0, MIB);
}

/** MIME-wrapped base64 of ordinary text: every run is decoded and scanned again. */
export function mimeBase64Text(): string {
  const plain = corpus([]).slice(0, (MIB * 3) / 4);
  const lines =
    Buffer.from(plain)
      .toString('base64')
      .match(/.{1,76}/g) ?? [];
  // One part per 8 KiB of text, as a mailbox of messages would be.
  const parts: string[] = [];
  for (let k = 0; k < lines.length; k += 108) {
    parts.push(`--b\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines.slice(k, k + 108).join('\r\n')}`);
  }
  return parts.join('\r\n').slice(0, MIB);
}

/** Anchors of eleven rules, one after another: every few bytes a candidate of another rule. */
export const MANY_ANCHORS = [
  'token=',
  'sk-',
  'ghp_',
  'AKIA',
  'pat',
  'xoxb-',
  'eyJ',
  'password: ',
  '%41',
  'Q~',
  '|',
];

export function manyAnchors(length: number): string {
  return Array.from({ length: Math.ceil(length / 4) }, (_, i) => MANY_ANCHORS[i % MANY_ANCHORS.length])
    .join('')
    .slice(0, length);
}

/**
 * A page of real keys, one every ~28 characters (`sk-` and 24 random letters and digits): every
 * candidate is a secret to redact and a short encoded-looking run to decode, with no `/` in the
 * text (a run's path check once read on to the text's end for each: quadratic).
 */
export function pageOfKeys(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let state = 12_345;
  const pieces: string[] = [];
  let size = 0;
  while (size < length) {
    let key = 'sk-';
    for (let k = 0; k < 24; k++) {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      key += alphabet[state % alphabet.length];
    }
    pieces.push(`${key} `);
    size += key.length + 1;
  }
  return pieces.join('').slice(0, length);
}

/**
 * `ordinary` and `hostile` texts are scrubbed whole; `streamed` ones in chunks, against the
 * ordinary text streamed in the same chunks (STREAMED_BASELINE): per-push costs set both.
 */
export type ThroughputKind = 'ordinary' | 'hostile' | 'streamed';

/** The streamed row the other streamed rows are held against. */
export const STREAMED_BASELINE = 'ordinary text, streamed in 7-character chunks';

export interface ThroughputInput {
  input: string;
  kind: ThroughputKind;
  text: string;
  /** Scanned by the scrubber with ten configured secrets. */
  configured?: boolean;
  /**
   * Scanned by a scrubber told this many run tokens at run time (`addSecrets`), as a gateway is
   * while that many runs are live: each text is read by their automata too.
   */
  live?: number;
  /** Streamed in chunks of this many characters (as an LLM answer's deltas arrive), not scrubbed whole. */
  chunk?: number;
  /**
   * Scrubbed (unmeasured) just before each measured call: the same text in another string, as
   * when one text is scrubbed twice in a row as two strings.
   */
  before?: string;
}

/** `length` random letters and digits: one run of key characters. */
function keyCharacters(length: number): string {
  return randomBytes(length).toString('base64').replace(/[+/=]/g, 'x').slice(0, length);
}

export function throughputInputs(): ThroughputInput[] {
  // One text, made into two strings below.
  const again = corpus([]);
  const rows: ThroughputInput[] = [
    { input: 'ordinary text (logs, prose, SQL)', kind: 'ordinary', text: corpus([]) },
    { input: 'JSON tool output (paths, hashes, base64)', kind: 'ordinary', text: jsonToolOutput() },
    { input: 'ordinary text, 10 configured secrets', kind: 'ordinary', text: corpus([]), configured: true },
    {
      input: 'ordinary text, one run live (its token told at run time)',
      kind: 'ordinary',
      text: corpus([]),
      live: 1,
    },
    { input: 'ordinary text, 10 runs live', kind: 'ordinary', text: corpus([]), live: 10 },
    {
      input: 'ordinary text, read again in a new string',
      kind: 'ordinary',
      text: again,
      before: again,
    },
    {
      input: 'JSON tool output, 10 configured secrets',
      kind: 'ordinary',
      text: jsonToolOutput(),
      configured: true,
    },
    { input: 'MIME base64 of text (all decoded)', kind: 'ordinary', text: mimeBase64Text() },
    { input: 'an HTML page (character references)', kind: 'ordinary', text: htmlPage() },
    { input: 'a fetched page as Markdown (escaped identifiers)', kind: 'ordinary', text: markdownPage() },
    { input: '`token=` repeated', kind: 'hostile', text: 'token='.repeat(MIB / 6) },
    { input: 'anchors of many rules every few bytes', kind: 'hostile', text: manyAnchors(MIB) },
    // The same at 4 MiB (the gateway's default body limit): a matcher that re-read a window per
    // anchor without bound, or a budget that did not scale, would fall behind the 1 MiB row.
    {
      input: 'anchors of many rules, 4 MiB (linear: as the 1 MiB row)',
      kind: 'hostile',
      text: manyAnchors(4 * MIB),
    },
    {
      input: 'long base64 (one 1 MiB run)',
      kind: 'hostile',
      text: randomBytes((MIB * 3) / 4).toString('base64'),
    },
    {
      input: 'base64 lines of 76 (random bytes)',
      kind: 'hostile',
      text: (
        randomBytes((MIB * 3) / 4)
          .toString('base64')
          .match(/.{1,76}/g) ?? []
      )
        .join('\r\n')
        .slice(0, MIB),
    },
    { input: '`%41` repeated (one escaped run)', kind: 'hostile', text: '%41'.repeat(MIB / 3) },
    // Each list a run to decode and scan (byte-lists.ts): printable values, so none is skipped.
    {
      input: 'JSON of short lists of printable byte values',
      kind: 'hostile',
      text: byteLists(MIB),
    },
    {
      input: 'hex dump of random bytes (one dump run)',
      kind: 'hostile',
      text: hexDump(randomBytes(MIB / 4)).slice(0, MIB),
    },
    { input: 'a page of real keys, each redacted', kind: 'hostile', text: pageOfKeys(MIB) },
    // Every row a cell under a secret-named column (table-cells.ts): each is written out and checked.
    {
      input: 'a CSV of short secret cells (a cell to check per row)',
      kind: 'hostile',
      text: `user,password\n${Array.from({ length: MIB / 24 }, (_, k) => `u${k},${keyCharacters(14)}`).join('\n')}`,
    },
    // A tuple never closed, the statement repeated inside it: read once, not once per VALUES.
    {
      input: 'nested INSERT … VALUES ( repeated',
      kind: 'hostile',
      text: 'INSERT INTO t (password) VALUES ('.repeat(MIB / 33),
    },
    {
      input: 'a page of real keys, 4 MiB (linear: as the 1 MiB row)',
      kind: 'hostile',
      text: pageOfKeys(4 * MIB),
    },
    // As an LLM answer's deltas arrive; the baseline for the streamed rows.
    { input: STREAMED_BASELINE, kind: 'streamed', text: corpus([]), chunk: 7 },
    // A finding that keeps growing in small deltas: the stream scrubber scanned its whole hold again
    // with every chunk (quadratic: 80 KB took 16 s).
    {
      input: '`token=` and 1 MiB of key characters, streamed in 7-character chunks',
      kind: 'streamed',
      text: `token=${keyCharacters(MIB - 6)}`,
      chunk: 7,
    },
  ];
  // As a tool result reaches the scrubber: a flat string from JSON.parse. (The generators'
  // `.slice`/`repeat` give sliced and cons strings, whose every charCodeAt costs an indirection
  // that no real input pays: about 15% of the scan on the ordinary text.)
  const flat = (text: string) => JSON.parse(JSON.stringify(text)) as string;
  return rows.map((row) => ({
    ...row,
    text: flat(row.text),
    ...(row.before !== undefined ? { before: flat(row.before) } : {}),
  }));
}

interface Contender {
  plain: ScrubberLike;
  configured: ScrubberLike;
  /** By number of run tokens told at run time (ThroughputInput.live). */
  live: Map<number, ScrubberLike>;
  cpu: number[][];
  wall: number[][];
}

/** A run token's shape (runs/tokens.ts `mintToken`). */
const runToken = () => `bh_run_${randomBytes(32).toString('base64url')}`;

function contender(
  create: CreateScrubber,
  secrets: readonly string[],
  tokens: readonly string[],
  liveCounts: readonly number[],
): Contender {
  const live = new Map<number, ScrubberLike>();
  for (const count of liveCounts) {
    const scrubber = create();
    // One at a time, as runs start.
    for (const token of tokens.slice(0, count)) scrubber.addSecrets([token]);
    live.set(count, scrubber);
  }
  return { plain: create(), configured: create({ secrets }), live, cpu: [], wall: [] };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function mbps(chars: number, ms: number): number {
  return chars / MIB / (ms / 1000);
}

/** One call: [CPU ms, wall ms]. */
function measure(scrubber: ScrubberLike, text: string, chunk?: number): [number, number] {
  const wallStart = process.hrtime.bigint();
  const before = process.cpuUsage();
  scrub(scrubber, text, chunk);
  const used = process.cpuUsage(before);
  const wall = Number(process.hrtime.bigint() - wallStart) / 1e6;
  return [(used.user + used.system) / 1000, wall];
}

/** `text` scrubbed whole, or streamed in chunks of `chunk` characters. */
function scrub(scrubber: ScrubberLike, text: string, chunk?: number): void {
  if (!chunk) {
    scrubber.text(text);
    return;
  }
  const stream = scrubber.stream();
  for (let at = 0; at < text.length; at += chunk) stream.push(text.slice(at, at + chunk));
  stream.flush();
}

export function benchThroughput(create: CreateScrubber, against?: CreateScrubber): ThroughputRow[] {
  const inputs = throughputInputs();
  // Per-tool credentials are configured secrets: a gateway with ten scans every text for their
  // ~4,000 forms as well. The same ten for both builds.
  const secrets = secretsOf(10);
  const liveCounts = [...new Set(inputs.flatMap((row) => (row.live === undefined ? [] : [row.live])))];
  const tokens = Array.from({ length: Math.max(0, ...liveCounts) }, runToken);
  const contenders = [contender(create, secrets, tokens, liveCounts)];
  if (against) contenders.push(contender(against, secrets, tokens, liveCounts));
  const pick = (c: Contender, row: ThroughputInput) =>
    row.live !== undefined ? c.live.get(row.live)! : row.configured ? c.configured : c.plain;
  for (const c of contenders) {
    c.cpu = inputs.map(() => []);
    c.wall = inputs.map(() => []);
  }
  // Every path warm before any is measured (see the file's comment).
  for (let w = 0; w < 3; w++)
    for (const c of contenders) for (const row of inputs) scrub(pick(c, row), row.text, row.chunk);
  // The streamed rows leave the most garbage (150,000 chunks each), and its collection runs on
  // other threads into the next call, which the process's CPU counts: one rotation of all rows
  // put the ordinary text right after them in 10 rounds of 11 and billed it for it (97 MB/s in
  // 7 runs of 10 on one build, 190 in the rest). Rotated apart, the call after them is another
  // row's each round, and each row's median is its own.
  const whole = inputs.flatMap((row, r) => (row.chunk ? [] : [r]));
  const streamed = inputs.flatMap((row, r) => (row.chunk ? [r] : []));
  for (let round = 0; round < REPETITIONS; round++) {
    const rotated = (list: number[]) => list.map((_, k) => list[(k + round) % list.length]!);
    for (const r of [...rotated(whole), ...rotated(streamed)]) {
      const row = inputs[r]!;
      // Alternating which build goes first, so neither always runs right after the other's garbage.
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        if (row.before !== undefined) scrub(pick(c, row), row.before);
        const [cpu, wall] = measure(pick(c, row), row.text, row.chunk);
        c.cpu[r]!.push(cpu);
        c.wall[r]!.push(wall);
      }
    }
  }
  const figures = (c: Contender, r: number, chars: number) => ({
    cpuMBps: mbps(chars, median(c.cpu[r]!)),
    lowMBps: mbps(chars, Math.max(...c.cpu[r]!)),
    highMBps: mbps(chars, Math.min(...c.cpu[r]!)),
  });
  return inputs.map((row, r) => {
    const ours = figures(contenders[0]!, r, row.text.length);
    const other = contenders[1];
    const theirs = other ? figures(other, r, row.text.length) : undefined;
    return {
      input: row.input,
      kind: row.kind,
      ...ours,
      wallMBps: mbps(row.text.length, median(contenders[0]!.wall[r]!)),
      ...(theirs ? { against: { ...theirs, ratio: ours.cpuMBps / theirs.cpuMBps } } : {}),
    };
  });
}

/** `{"id":k,"bytes":[…]}` lines of fourteen printable byte values each, `size` characters. */
function byteLists(size: number): string {
  const rows: string[] = [];
  let length = 0;
  for (let k = 0; length < size; k++) {
    const row = JSON.stringify({ id: k, bytes: Array.from({ length: 14 }, (_, j) => 65 + ((k + j) % 26)) });
    rows.push(row);
    length += row.length + 1;
  }
  return rows.join('\n').slice(0, size);
}

/** `bytes` as `xxd` prints them. */
function hexDump(bytes: Buffer): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = row
      .toString('hex')
      .replace(/(.{4})/g, '$1 ')
      .trimEnd();
    const text = [...row].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}: ${hex.padEnd(39)}  ${text}`);
  }
  return lines.join('\n');
}
