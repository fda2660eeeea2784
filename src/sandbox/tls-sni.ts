/**
 * Reads the server name (SNI) from a TLS ClientHello without terminating TLS.
 * Returns undefined when the bytes are not a ClientHello or carry no SNI; a
 * malformed record is treated as "no SNI", never as a match.
 */
export function readSni(data: Buffer): string | undefined {
  try {
    if (data.length < 43 || data[0] !== 0x16 || data[5] !== 0x01) return undefined;
    let at = 9 + 2 + 32; // record header + handshake header, version, random
    const sessionLength = data[at] as number;
    at += 1 + sessionLength;
    const cipherLength = data.readUInt16BE(at);
    at += 2 + cipherLength;
    const compressionLength = data[at] as number;
    at += 1 + compressionLength;
    const extensionsEnd = at + 2 + data.readUInt16BE(at);
    at += 2;
    while (at + 4 <= extensionsEnd && at + 4 <= data.length) {
      const type = data.readUInt16BE(at);
      const length = data.readUInt16BE(at + 2);
      at += 4;
      if (type === 0) {
        const nameType = data[at + 2];
        const nameLength = data.readUInt16BE(at + 3);
        if (nameType !== 0) return undefined;
        return data
          .subarray(at + 5, at + 5 + nameLength)
          .toString('ascii')
          .toLowerCase();
      }
      at += length;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function isTlsHandshake(data: Buffer): boolean {
  return data.length > 0 && data[0] === 0x16;
}
