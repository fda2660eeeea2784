/** The forms a known secret may take on the way to a sink. */
export function knownSecretForms(secret: string): string[] {
  const buf = Buffer.from(secret, 'utf8');
  const forms = new Set<string>([
    secret,
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
    buf.toString('hex'),
    buf.toString('hex').toUpperCase(),
  ]);
  // base64 of a secret embedded at an unknown offset: the stable core of each of the 3 alignments.
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), buf]);
    const b64 = padded.toString('base64');
    const start = shift === 0 ? 0 : Math.ceil((shift * 4) / 3);
    const stableEnd = Math.floor(((shift + buf.length) * 4) / 3) - ((shift + buf.length) % 3 === 0 ? 0 : 1);
    const core = b64.slice(start, Math.max(start, stableEnd));
    if (core.length >= 8) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...forms].filter((f) => f.length > 0);
}
