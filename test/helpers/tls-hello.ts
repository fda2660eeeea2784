/** TLS ClientHellos as real clients send them, and altered ones, for the egress proxy's tests. */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { classifyFirstBytes } from '../../src/sandbox/tls-sni.js';

/** The first bytes a real TLS client (node's OpenSSL) sends for a server name. */
export async function clientHello(servername?: string): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const received = new Promise<Buffer>((resolve) =>
    server.once('connection', (socket) => {
      let data = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        if (classifyFirstBytes(data).kind !== 'incomplete') {
          socket.destroy();
          resolve(data);
        }
      });
    }),
  );
  const client = tlsConnect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}) });
  client.on('error', () => undefined);
  const data = await received;
  client.destroy();
  server.close();
  return data;
}

/** Appends one extension to a one-record ClientHello, fixing the three lengths around it. */
export function withExtension(hello: Buffer, type: number, body: Buffer): Buffer {
  const extension = Buffer.alloc(4 + body.length);
  extension.writeUInt16BE(type, 0);
  extension.writeUInt16BE(body.length, 2);
  body.copy(extension, 4);
  const out = Buffer.concat([hello, extension]);
  out.writeUInt16BE(out.readUInt16BE(3) + extension.length, 3); // record
  out.writeUIntBE(out.readUIntBE(6, 3) + extension.length, 6, 3); // handshake message
  let at = 5 + 4 + 2 + 32;
  at += 1 + out[at]!; // session id
  at += 2 + out.readUInt16BE(at); // cipher suites
  at += 1 + out[at]!; // compression methods
  out.writeUInt16BE(out.readUInt16BE(at) + extension.length, at); // extensions
  return out;
}

/** A self-signed P-256 certificate for `name` and 127.0.0.1: key and cert files written in `dir`. */
export function selfSignedFiles(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2'],
      ...['-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}
