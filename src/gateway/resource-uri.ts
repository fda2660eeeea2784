/**
 * A resource URI is matched against the profile's allow-list as text, but the
 * upstream resolves it. `file:///work/../etc/passwd` matches `file:///work/*`
 * and names `/etc/passwd` to any server that resolves dot segments, as a
 * WHATWG URL parser does, also when they are written `%2e%2e` or `.%2E`,
 * separated by a backslash, or encoded twice for a server that decodes twice.
 * So a URI with a `.` or `..` segment in any of those spellings is refused,
 * as is one holding a control character, a space or a hidden character (a
 * line break an HTTP upstream would put in its request, a zero-width
 * character an operator does not see in the audit log), or longer than 8 KiB.
 */
import { stripHidden } from '../inspect/hidden.js';

/** Decoding rounds: `%252e` is `%2e` after one and `.` after two. */
const ROUNDS = 3;

/** Longest URI passed on: a URI names a resource, it is not a payload (nor an exfiltration channel). */
export const MAX_URI = 8192;

/** Why a URI is refused, or undefined when it may be matched against the allow-list. */
export function uriProblem(uri: string): string | undefined {
  if (uri.length > MAX_URI) return `This URI is too long (over ${MAX_URI} characters).`;
  // C0 controls, space, DEL and C1 controls, raw.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  if (/[\x00-\x20\x7f-\x9f]/.test(uri) || stripHidden(uri).text !== uri)
    return 'This URI holds a control, space or hidden character.';
  let text = uri;
  for (let round = 0; round < ROUNDS; round++) {
    if (hasDotSegment(text)) return 'This URI holds a dot segment (. or ..); send the path it resolves to.';
    const decoded = text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    if (decoded === text) break;
    text = decoded;
  }
  return undefined;
}

/** A segment (between `/` or `\`, its `;params` left off) that is `.` or `..`. */
function hasDotSegment(text: string): boolean {
  for (const segment of text.split(/[/\\]/)) {
    const bare = segment.split(/[;?#]/, 1)[0];
    if (bare === '.' || bare === '..') return true;
  }
  return false;
}
