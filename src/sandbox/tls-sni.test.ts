import { describe, expect, it } from 'vitest';
import { clientHello, withExtension } from '../../test/helpers/tls-hello.js';
import { classifyFirstBytes } from './tls-sni.js';

/** Re-frames one handshake message into two TLS records, as a client may legally do. */
function splitIntoTwoRecords(hello: Buffer): Buffer {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const record = (part: Buffer) =>
    Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
  return Buffer.concat([record(body.subarray(0, 20)), record(body.subarray(20))]);
}

describe('TLS ClientHello SNI', () => {
  it('reads the server name a real TLS client sends', async () => {
    expect(classifyFirstBytes(await clientHello('api.example.com'))).toEqual({
      kind: 'client-hello',
      sni: 'api.example.com',
    });
  });

  it('reports a hello without a server name as having none', async () => {
    expect(classifyFirstBytes(await clientHello())).toEqual({ kind: 'client-hello', sni: undefined });
  });

  it('waits for the rest of a hello split across TCP segments', async () => {
    const hello = await clientHello('api.example.com');
    for (const cut of [1, 5, 6, 40, hello.length - 1])
      expect(classifyFirstBytes(hello.subarray(0, cut)).kind).toBe('incomplete');
  });

  it('reassembles a hello split across TLS records', async () => {
    const hello = await clientHello('front.example.net');
    expect(classifyFirstBytes(splitIntoTwoRecords(hello))).toEqual({
      kind: 'client-hello',
      sni: 'front.example.net',
    });
  });

  it('treats bytes that are not a TLS handshake as not TLS', () => {
    expect(classifyFirstBytes(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')).kind).toBe('not-tls');
    expect(classifyFirstBytes(Buffer.from('GET / HTTP/1.1\r\n')).kind).toBe('not-tls');
  });

  it('refuses a handshake record that is not a ClientHello', () => {
    expect(classifyFirstBytes(Buffer.from([0x16, 3, 1, 0, 4, 0x02, 0, 0, 0])).kind).toBe('malformed');
  });

  it('refuses a ClientHello whose lengths run past its end', async () => {
    const hello = Buffer.from(await clientHello('api.example.com'));
    hello.writeUInt16BE(0xffff, 5 + 4 + 2 + 32 + 1 + hello[5 + 4 + 2 + 32]!); // cipher suites length
    expect(classifyFirstBytes(hello).kind).toBe('malformed');
  });

  it('refuses a server name with a NUL byte in it', async () => {
    const hello = Buffer.from(await clientHello('api.example.com'));
    const at = hello.indexOf('api.example.com');
    hello[at + 3] = 0; // "api\0example.com": a C parser on the far side would read "api"
    expect(classifyFirstBytes(hello).kind).toBe('malformed');
  });

  it('refuses a hello that hides the name it means (Encrypted Client Hello, encrypted SNI)', async () => {
    // The clear SNI is the allowed name; a shared front end decrypts the inner hello's other one.
    const hello = await clientHello('api.example.com');
    for (const type of [0xfe0d, 0xfe0a, 0xffce])
      expect(
        classifyFirstBytes(withExtension(hello, type, Buffer.alloc(40, 1))).kind,
        type.toString(16),
      ).toBe('unreadable');
    expect(classifyFirstBytes(withExtension(hello, 0x7a7a, Buffer.alloc(1))).kind).toBe('client-hello');
  });

  it('refuses an SSLv2-format ClientHello (it cannot carry a server name)', () => {
    const v2 = Buffer.from('801c01030300030000001000002f', 'hex');
    expect(classifyFirstBytes(Buffer.concat([v2, Buffer.alloc(16, 7)])).kind).toBe('unreadable');
    expect(classifyFirstBytes(v2.subarray(0, 2)).kind).toBe('incomplete');
  });

  it('refuses a first TLS record that is not a handshake (alert, change cipher spec, data)', () => {
    for (const type of [0x14, 0x15, 0x17, 0x18])
      expect(classifyFirstBytes(Buffer.from([type, 3, 3, 0, 1, 1])).kind).toBe('unreadable');
    expect(classifyFirstBytes(Buffer.from([0x15])).kind).toBe('incomplete');
  });

  it('refuses a hello followed by another handshake message, in its record or in a record behind it', async () => {
    const hello = await clientHello('api.example.com');
    const second = await clientHello('other.example.com');
    expect(classifyFirstBytes(Buffer.concat([hello, second])).kind).toBe('unreadable');
    expect(classifyFirstBytes(Buffer.concat([hello, Buffer.from('140303000101', 'hex'), second])).kind).toBe(
      'unreadable',
    );
    const packed = Buffer.concat([hello, second.subarray(5)]);
    packed.writeUInt16BE(packed.length - 5, 3); // both messages in the first record
    expect(classifyFirstBytes(packed).kind).toBe('malformed');
    // Early data (application_data records) may follow a hello.
    expect(classifyFirstBytes(Buffer.concat([hello, Buffer.from('1703030002abcd', 'hex')])).kind).toBe(
      'client-hello',
    );
  });
});
