/**
 * The forms a known secret may take on the way to a sink. A secret that leaks
 * through a log line as `Authorization: Basic dXNlcjpzM2NyZXQ=`, a URL query
 * (`?key=s3cr%2Bt`), a hex dump or a JSON-escaped string is still that secret;
 * each form here is matched literally, so an encoded leak is caught without
 * decoding the (untrusted, possibly huge) text first.
 */

/** Base64 cores shorter than this would match ordinary words. */
const MIN_CORE_LENGTH = 8;

export function knownSecretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const hex = bytes.toString('hex');
  const uri = encodeURIComponent(secret);
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = new Set<string>([
    secret,
    uri,
    uri.replace(/%[0-9A-F]{2}/g, (pct) => pct.toLowerCase()),
    uri.replace(/%20/g, '+'),
    json,
    json.replace(/\//g, '\\/'),
    asciiJson(json),
    hex,
    hex.toUpperCase(),
  ]);
  for (const core of base64Cores(bytes)) {
    forms.add(core);
    forms.add(toBase64Url(core));
  }
  return [...forms].filter((form) => form.length > 0);
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
