import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { keepAliveFetch } from './http-fetch.js';
import { largeMessages } from './large-messages.js';
import { OversizePacer } from './oversize-pacer.js';

const MB = 1024 * 1024;

describe('OversizePacer', () => {
  const clock = () => {
    let t = 0;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('lets a burst through, then asks for the time the excess takes at the pace', () => {
    const c = clock();
    const pacer = new OversizePacer(() => true, MB, MB / 4, c.now);
    expect(pacer.charge(MB / 4)).toBe(0);
    expect(pacer.charge(MB / 2)).toBeCloseTo(500, 5);
  });

  it('earns its allowance back with time, never beyond the burst', () => {
    const c = clock();
    const pacer = new OversizePacer(() => true, MB, MB / 4, c.now);
    pacer.charge(MB / 4 + MB / 2); // 500 ms behind
    c.advance(500);
    expect(pacer.charge(0)).toBe(0);
    c.advance(60_000); // a long quiet spell earns one burst, not a minute's worth
    expect(pacer.charge(MB / 4)).toBe(0);
    expect(pacer.charge(MB / 8)).toBeCloseTo(125, 5);
  });

  it('never pauses when no other call is in flight', () => {
    const pacer = new OversizePacer(() => false, MB, MB / 4, clock().now);
    for (let i = 0; i < 100; i++) expect(pacer.charge(MB)).toBe(0);
    expect(pacer.counts.pauses).toBe(0);
  });

  it('carries at most one burst of debt from reading alone into a busy spell', () => {
    const c = clock();
    let others = false;
    const pacer = new OversizePacer(() => others, MB, MB / 4, c.now);
    pacer.charge(10 * MB);
    others = true;
    // Owed: the burst read alone beyond the allowance (250 ms at 1 MB/s), plus this chunk.
    expect(pacer.charge(MB / 4)).toBeCloseTo(500, 5);
  });

  it('keeps the pace when the others pause between their calls', () => {
    const c = clock();
    let others = true;
    const pacer = new OversizePacer(() => others, MB, MB / 4, c.now);
    let waited = 0;
    // 8 MB in 64 KiB chunks; the others are between calls for every fourth chunk.
    for (let i = 0; i < 128; i++) {
      others = i % 4 !== 3;
      const wait = pacer.charge(MB / 16);
      waited += wait;
      c.advance(wait + 0.1);
    }
    // At 1 MB/s, 8 MB take close to 8 s less the burst, gaps or not.
    expect(waited).toBeGreaterThan(7_000);
  });
});

describe('reading an HTTP answer past its budget', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  /** An upstream answering every tools/call with an SSE event whose text is 2 MB, in 64 KiB writes. */
  async function upstream(): Promise<string> {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const id = (JSON.parse(body) as { id: number }).id;
        const text = 'x'.repeat(2 * MB);
        const bytes = Buffer.from(
          `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } })}\n\n`,
        );
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (let i = 0; i < bytes.length; i += 64 * 1024) res.write(bytes.subarray(i, i + 64 * 1024));
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const previous = close;
    close = () => {
      previous?.();
      server.close();
    };
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  async function callThrough(others: boolean): Promise<{ text: string; ms: number; pauses: number }> {
    const url = await upstream();
    const large = largeMessages(() => 1000);
    // 2 MB/s, so the 2 MB past the budget take about a second when paced.
    const pacer = new OversizePacer(() => others, 2 * MB, MB / 8);
    large.pacer = pacer;
    const http = keepAliveFetch({ maxBodyBytes: 64 * MB, large });
    const previous = close;
    close = () => {
      http.close();
      previous?.();
    };
    const started = performance.now();
    const answer = await http.fetch(url, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'blob' } }),
    });
    const raw = await answer.text();
    const data = JSON.parse(raw.split('data: ')[1] ?? '') as { result: { content: { text: string }[] } };
    return {
      text: data.result.content[0]?.text ?? '',
      ms: performance.now() - started,
      pauses: pacer.counts.pauses,
    };
  }

  it('is paced while other calls are in flight, and still cut to the budget', async () => {
    const paced = await callThrough(true);
    expect(paced.text).toBe('x'.repeat(1001));
    expect(paced.pauses).toBeGreaterThan(0);
    // Lower bound only (a loaded machine can only make it slower): ~1 s of excess at 2 MB/s, less one burst.
    expect(paced.ms).toBeGreaterThan(600);
  }, 30_000);

  it('is read at full speed when it is the only call', async () => {
    const alone = await callThrough(false);
    expect(alone.text).toBe('x'.repeat(1001));
    expect(alone.pauses).toBe(0);
  }, 30_000);
});
