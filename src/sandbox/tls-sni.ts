/**
 * Reads the server name (SNI) from the first bytes a client sends through a
 * CONNECT tunnel, without terminating TLS. The proxy compares it with the
 * CONNECT host to refuse domain fronting (a tunnel to an allowed name whose
 * TLS session asks the far side for another one).
 *
 * Fail closed: bytes that start like a TLS handshake but do not parse as a
 * ClientHello are `malformed`, never "no SNI"; a ClientHello split across
 * several TCP segments or TLS records is `incomplete` until all of it is here.
 */

export type FirstBytes =
  | { kind: 'not-tls' }
  | { kind: 'incomplete' }
  | { kind: 'malformed' }
  /** TLS, but not a ClientHello the proxy can read a name from: why. */
  | { kind: 'unreadable'; reason: string }
  | { kind: 'client-hello'; sni: string | undefined };

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME_EXTENSION = 0x0000;
const HOST_NAME = 0x00;
/**
 * Encrypted Client Hello (RFC 9849) and its drafts back to 0xfe08, and the older encrypted SNI:
 * the server name the far side acts on travels encrypted, and the one in the clear is only the
 * client-facing server's. A shared front end (a CDN) decrypts it and serves whichever tenant it
 * names, so the proxy's SNI check would see the allowed name and nothing else.
 */
const HIDDEN_NAME_EXTENSIONS = new Set([0xfe08, 0xfe09, 0xfe0a, 0xfe0b, 0xfe0c, 0xfe0d, 0xffce]);
/** TLS record types other than handshake (change_cipher_spec, alert, application_data, heartbeat). */
const OTHER_RECORDS = new Set([0x14, 0x15, 0x17, 0x18]);
/** A ClientHello larger than this is refused rather than buffered without end. */
export const MAX_CLIENT_HELLO = 64 * 1024;

export function classifyFirstBytes(data: Buffer): FirstBytes {
  if (data.length === 0) return { kind: 'incomplete' };
  if (data[0] !== HANDSHAKE) return otherStart(data);
  // Reassemble the handshake message from as many records as it spans.
  const fragments: Buffer[] = [];
  let at = 0;
  let have = 0;
  let need: number | undefined;
  while (need === undefined || have < need) {
    if (at + 5 > data.length) return data.length > MAX_CLIENT_HELLO ? malformed() : { kind: 'incomplete' };
    if (data[at] !== HANDSHAKE) return malformed();
    const recordLength = data.readUInt16BE(at + 3);
    if (recordLength === 0 || recordLength > 16_384) return malformed();
    if (at + 5 + recordLength > data.length) {
      return data.length > MAX_CLIENT_HELLO ? malformed() : { kind: 'incomplete' };
    }
    fragments.push(data.subarray(at + 5, at + 5 + recordLength));
    at += 5 + recordLength;
    have += recordLength;
    if (need === undefined && have >= 4) {
      const head = Buffer.concat(fragments);
      if (head[0] !== CLIENT_HELLO) return malformed();
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_CLIENT_HELLO) return malformed();
    }
  }
  // More after the hello in its last record, or a handshake record right behind it: a second
  // hello the server reads once it has asked for one (a retry), never checked here.
  if (have > need) return malformed();
  if (handshakeRecordFrom(data, at))
    return { kind: 'unreadable', reason: 'a second TLS handshake record sent with the ClientHello' };
  const hello = Buffer.concat(fragments).subarray(4, need);
  const parsed = parseClientHello(hello);
  if (parsed === false) return malformed();
  if (parsed.hidden)
    return { kind: 'unreadable', reason: 'TLS Encrypted Client Hello (the real server name is hidden)' };
  return { kind: 'client-hello', sni: parsed.sni };
}

/** Whether a record from `at` on (whole ones, then the type of a partial one) is a handshake record. */
function handshakeRecordFrom(data: Buffer, at: number): boolean {
  while (at < data.length) {
    if (data[at] === HANDSHAKE) return true;
    if (at + 5 > data.length) return false;
    at += 5 + data.readUInt16BE(at + 3);
  }
  return false;
}

/**
 * First bytes that do not start a TLS handshake record. Two still speak TLS without showing a
 * name: another record type (a server that skips it, or a later hello, is not checked), and
 * the SSLv2-compatible ClientHello (a 2-byte header with the top bit set, then message type 1),
 * which has no extensions, so no SNI, and gets the far side's default certificate: the tenant
 * is then picked by the encrypted Host header.
 */
function otherStart(data: Buffer): FirstBytes {
  const first = data[0] as number;
  if (OTHER_RECORDS.has(first)) {
    if (data.length < 2) return { kind: 'incomplete' };
    if (data[1] === 0x03) return { kind: 'unreadable', reason: 'a TLS record that is not a ClientHello' };
  }
  if (first & 0x80) {
    if (data.length < 3) return { kind: 'incomplete' };
    if (data[2] === CLIENT_HELLO)
      return { kind: 'unreadable', reason: 'an SSLv2-format ClientHello (no SNI)' };
  }
  return { kind: 'not-tls' };
}

function malformed(): FirstBytes {
  return { kind: 'malformed' };
}

/**
 * The SNI host name (undefined when the hello carries none) and whether the hello hides the name
 * it means (ECH), or false when the bytes are not a valid hello.
 */
function parseClientHello(body: Buffer): { sni: string | undefined; hidden: boolean } | false {
  const reader = new Reader(body);
  if (!reader.skip(2 + 32)) return false; // legacy version, random
  const session = reader.u8();
  if (session === undefined || !reader.skip(session)) return false;
  const ciphers = reader.u16();
  if (ciphers === undefined || !reader.skip(ciphers)) return false;
  const compression = reader.u8();
  if (compression === undefined || !reader.skip(compression)) return false;
  if (reader.remaining() === 0) return { sni: undefined, hidden: false }; // no extensions at all
  const extensionsLength = reader.u16();
  if (extensionsLength === undefined || extensionsLength !== reader.remaining()) return false;
  let sni: string | undefined;
  let hidden = false;
  while (reader.remaining() > 0) {
    const type = reader.u16();
    const length = reader.u16();
    if (type === undefined || length === undefined) return false;
    const data = reader.take(length);
    if (!data) return false;
    if (HIDDEN_NAME_EXTENSIONS.has(type)) hidden = true;
    if (type !== SERVER_NAME_EXTENSION) continue;
    // Two server_name extensions could name two hosts: one for the check, one for the far side.
    if (sni !== undefined) return false;
    const names = new Reader(data);
    const listLength = names.u16();
    if (listLength === undefined || listLength !== names.remaining()) return false;
    while (names.remaining() > 0) {
      const nameType = names.u8();
      const nameLength = names.u16();
      if (nameType === undefined || nameLength === undefined) return false;
      const name = names.take(nameLength);
      if (!name) return false;
      if (nameType !== HOST_NAME) continue;
      // Several host names in one extension is forbidden by RFC 6066 and would be ambiguous.
      if (sni !== undefined) return false;
      sni = name.toString('latin1').toLowerCase();
      // A NUL or non-printable byte could make the far side read a different name than we compared.
      if (!/^[\x21-\x7e]+$/.test(sni)) return false;
    }
    if (sni === undefined) return false;
  }
  return { sni, hidden };
}

class Reader {
  private at = 0;
  constructor(private readonly data: Buffer) {}
  remaining(): number {
    return this.data.length - this.at;
  }
  skip(n: number): boolean {
    if (this.at + n > this.data.length) return false;
    this.at += n;
    return true;
  }
  u8(): number | undefined {
    if (this.remaining() < 1) return undefined;
    return this.data[this.at++];
  }
  u16(): number | undefined {
    if (this.remaining() < 2) return undefined;
    const value = this.data.readUInt16BE(this.at);
    this.at += 2;
    return value;
  }
  take(n: number): Buffer | undefined {
    if (this.remaining() < n) return undefined;
    const out = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

/** The random of a ServerHello that is really a HelloRetryRequest (RFC 8446 4.1.3). */
const RETRY_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
const SERVER_HELLO = 0x02;

/**
 * What a server answered a ClientHello with: a HelloRetryRequest (the client then sends a second
 * ClientHello, which must be checked as the first was), anything else, or not enough bytes yet.
 */
export function classifyServerHello(data: Buffer): 'retry' | 'other' | 'incomplete' {
  // The type, length, version and random: 38 bytes of the first handshake message.
  const fragments: Buffer[] = [];
  let have = 0;
  let at = 0;
  while (have < 38) {
    if (at + 5 > data.length) return 'incomplete';
    if (data[at] !== HANDSHAKE) return 'other';
    const recordLength = data.readUInt16BE(at + 3);
    const end = Math.min(at + 5 + recordLength, data.length);
    fragments.push(data.subarray(at + 5, end));
    have += end - at - 5;
    if (end < at + 5 + recordLength && have < 38) return 'incomplete';
    at += 5 + recordLength;
  }
  const message = Buffer.concat(fragments);
  if (message[0] !== SERVER_HELLO) return 'other';
  return message.subarray(6, 38).equals(RETRY_RANDOM) ? 'retry' : 'other';
}

/** A TLS 1.3 client's change_cipher_spec record (middlebox compatibility), sent before a second hello. */
export function changeCipherSpecLength(data: Buffer): number {
  return data.length >= 6 && data[0] === 0x14 && data[1] === 0x03 && data.readUInt16BE(3) === 1 ? 6 : 0;
}
