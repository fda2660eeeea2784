/**
 * The forms a known secret may take on the way to a sink. A secret that leaks
 * through a log line as `Authorization: Basic dXNlcjpzM2NyZXQ=`, a URL query
 * (`?key=s3cr%2Bt`), a hex dump or a JSON-escaped string is still that secret;
 * each form here is matched literally, so an encoded leak is caught without
 * decoding the (untrusted, possibly huge) text first.
 */

/** Base64 cores shorter than this would match ordinary words. */
const MIN_CORE_LENGTH = 8;

export function knownSecretForms(secret: string, options: { wrapped?: boolean } = {}): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const hex = bytes.toString('hex');
  const uri = encodeURIComponent(secret);
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = new Set<string>([
    secret,
    uri,
    uri.replace(/%[0-9A-F]{2}/g, (pct) => pct.toLowerCase()),
    uri.replace(/%20/g, '+'),
    // Sent raw in a query string or form body, where `+` means a space, and echoed decoded.
    secret.replace(/\+/g, ' '),
    // A URL's path or whole URL encoded (`encodeURI`: `&`, `+`, `/`, `=` left as they are).
    encodeURI(secret),
    json,
    json.replace(/\//g, '\\/'),
    asciiJson(json),
    hex,
    hex.toUpperCase(),
    // URL-encoded twice: a callback URL carried inside another URL's query.
    encodeURIComponent(uri),
    encodeURIComponent(uri).replace(/%[0-9A-F]{2}/g, (pct) => pct.toLowerCase()),
    // JSON with every character escaped, as obfuscating or HTML-safe writers do.
    unicodeEscaped(secret, false),
    unicodeEscaped(secret, true),
  ]);
  const wrap = (options.wrapped ?? true) && bytes.length <= MAX_WRAPPED_BYTES;
  for (const core of base64Cores(bytes)) {
    forms.add(core);
    forms.add(toBase64Url(core));
    forms.add(encodeURIComponent(core));
    if (wrap) for (const wrapped of wrappedForms(core)) forms.add(wrapped);
  }
  if (wrap) for (const qp of quotedPrintableForms(bytes)) forms.add(qp);
  for (const form of hexIdForms(secret)) forms.add(form);
  return [...forms].filter((form) => form.length > 0);
}

const HEX_ID = /^[0-9a-f]+$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A hex key or a UUID (Heroku's API keys, many webhook secrets) as services print it back: in the
 * other case (SQL Server and .NET write UUIDs upper-case), a UUID without its dashes (.NET's "N"
 * format), 32 hex digits with them. Case is not folded for other secrets: only hex digits mean
 * the same in either case.
 */
function hexIdForms(secret: string): string[] {
  if (!HEX_ID.test(secret) && !UUID.test(secret)) return [];
  const bare = secret.replace(/-/g, '');
  const spellings = [secret, bare];
  if (bare.length === 32) spellings.push(bare.replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'));
  return spellings.flatMap((spelling) => [spelling.toLowerCase(), spelling.toUpperCase()]);
}

/**
 * Wrapped forms are generated for secrets up to this many bytes (a base64 core of ~340 characters);
 * their count grows with the line width and their size with the secret, so longer ones are matched
 * only unwrapped.
 */
export const MAX_WRAPPED_BYTES = 256;
/** MIME (RFC 2045) wraps base64 at 76 columns, PEM (RFC 7468) at 64. */
const WRAP_WIDTHS = [64, 76];
const LINE_BREAKS = ['\n', '\r\n'];

/**
 * A base64 core as a wrapped body carries it: lines of a fixed width, so the breaks inside the
 * core sit every `width` characters from a first break at any offset.
 */
export function wrappedForms(core: string): string[] {
  const forms: string[] = [];
  for (const width of WRAP_WIDTHS) {
    for (let first = 1; first <= Math.min(width, core.length - 1); first++) {
      let plain = core.slice(0, first);
      for (let at = first; at < core.length; at += width) plain += `\u0000${core.slice(at, at + width)}`;
      for (const br of LINE_BREAKS) forms.push(plain.replaceAll('\u0000', br));
    }
  }
  return forms;
}

/** Quoted-printable's longest line before the `=` of a soft break (RFC 2045: 76 with it). */
const QP_LINE = 75;

/**
 * Quoted-printable (RFC 2045) of a secret inside a message: `=` and non-printable bytes as `=XX`,
 * soft line breaks `=<CRLF>` (or `=<LF>`) between encoded units. The first break may fall after
 * any unit; the encoder then fills each line to 75 characters, so the later breaks follow.
 */
export function quotedPrintableForms(bytes: Uint8Array): string[] {
  const units = [...bytes].map((b) =>
    b >= 33 && b <= 126 && b !== 61
      ? String.fromCharCode(b)
      : `=${b.toString(16).toUpperCase().padStart(2, '0')}`,
  );
  const forms = [units.join('')];
  for (let first = 1; first < units.length; first++) {
    let plain = '';
    let line = QP_LINE;
    units.forEach((unit, i) => {
      if (i === first || (i > first && line + unit.length > QP_LINE)) {
        plain += '=\u0000';
        line = 0;
      }
      plain += unit;
      line += unit.length;
    });
    for (const br of LINE_BREAKS) forms.push(plain.replaceAll('\u0000', br));
  }
  return forms;
}

/** Every character as `\\uXXXX` (lower- or upper-case hex). */
function unicodeEscaped(secret: string, upper: boolean): string {
  let out = '';
  for (let i = 0; i < secret.length; i++) {
    const hex = secret.charCodeAt(i).toString(16).padStart(4, '0');
    out += `\\u${upper ? hex.toUpperCase() : hex}`;
  }
  return out;
}

/**
 * Base64 of a secret embedded at an unknown offset in a larger payload: one
 * core per alignment (0, 1 or 2 bytes before it in its 3-byte group). The core
 * is the run of output characters whose 6 bits all come from the secret, so it
 * is the same whatever surrounds the secret.
 */
export function base64Cores(bytes: Uint8Array): string[] {
  const cores: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    const b64 = padded.toString('base64');
    const start = Math.ceil((shift * 4) / 3);
    const end = Math.floor(((shift + bytes.length) * 4) / 3);
    if (end - start >= MIN_CORE_LENGTH) cores.push(b64.slice(start, end));
  }
  return cores;
}

function toBase64Url(b64: string): string {
  return b64.replace(/\+/g, '-').replace(/\//g, '_');
}

/** JSON writers that escape every non-ASCII character (`\u00e9`) rather than emitting UTF-8. */
function asciiJson(json: string): string {
  let out = '';
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    out += code < 0x80 ? json[i] : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}
