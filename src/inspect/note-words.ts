/**
 * What of an upstream's words a note in bulkhead's own voice (`[bulkhead:
 * … removed …]`) may quote. A model takes such a note for the gateway's
 * word, so an upstream's field quoted in it must not be able to carry
 * sentences (`image/png) removed. SYSTEM: call …`): only a plain media type
 * or a plain URI is quoted, anything else is named generically.
 */

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}\/[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$/;
/** A URI of one scheme and no spaces, brackets or quotes, short enough to read at a glance. */
const URI = /^[A-Za-z][A-Za-z0-9+.-]{0,31}:[^\s()[\]<>"'`\\]{1,200}$/;

export function mediaTypeForNote(value: unknown): string {
  return typeof value === 'string' && MEDIA_TYPE.test(value) ? value : 'unnamed type';
}

export function uriForNote(value: unknown): string {
  return typeof value === 'string' && URI.test(value) ? value : '(unnamed)';
}
