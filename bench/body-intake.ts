/**
 * What refusing bytes that are not UTF-8 costs on a 1 MB request body, side by
 * side in one run: the intake as it was (`Request.text()`, which decodes
 * lossily) against `readRequestText` (bytes, `buffer.isUtf8`, then decode),
 * both behind the node adapter the gateway uses, with a declared length and
 * chunked, on an ASCII body (a typical LLM request) and on one that is mostly
 * multi-byte text. Requests alternate between the two, so machine noise hits
 * both alike. Reported: the median time from the handler's start to the text
 * parsed as JSON, as both doors do (the read includes waiting for the body,
 * the same for both) and
 * this process's CPU per request while each variant served.
 *
 *   npx tsx bench/body-intake.ts [--requests 200]
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { readRequestText } from '../src/util/request-text.js';
import { formatTable, median } from './lib/stats.js';

const requests = Number(process.argv[process.argv.indexOf('--requests') + 1]) || 200;
const MB = 1024 * 1024;

type Variant = 'text()' | 'readRequestText';
const handlerMs: Record<string, number[]> = {};

/** The chunked read as it was: a non-fatal streaming decoder, chunk by chunk. */
async function oldChunked(req: Request): Promise<string> {
  const reader = (req.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

const app = new Hono();
app.post('/:variant/:case', async (c) => {
  const started = performance.now();
  const chunked = c.req.header('content-length') === undefined;
  let length: number;
  if (c.req.param('variant') === 'old') {
    const text = chunked ? await oldChunked(c.req.raw) : await c.req.raw.text();
    length = (JSON.parse(text) as { messages: unknown[] }).messages.length;
  } else {
    const read = await readRequestText(c.req.raw, 8 * MB);
    if (!read.ok) return c.text(read.problem, 400);
    length = (JSON.parse(read.text) as { messages: unknown[] }).messages.length;
  }
  const key = `${c.req.param('variant')}/${decodeURIComponent(c.req.param('case'))}`;
  const times = handlerMs[key] ?? [];
  handlerMs[key] = times;
  times.push(performance.now() - started);
  return c.text(String(length));
});

function post(port: number, path: string, body: Buffer, chunked: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      headers: chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    if (chunked)
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
    else req.write(body);
    req.end();
  });
}

function jsonOf(filler: string): Buffer {
  const unit = `{"role":"user","content":"${filler}"},`;
  const count = Math.ceil(MB / Buffer.byteLength(unit));
  return Buffer.from(`{"model":"m","max_tokens":5,"messages":[${unit.repeat(count).slice(0, -1)}]}`);
}

const cases: Record<string, Buffer> = {
  ascii: jsonOf('The quick brown fox jumps over the lazy dog; tool output and code. '.repeat(4)),
  multibyte: jsonOf('Größenänderung — 日本語のテキスト, emoji 😀 and € signs. '.repeat(4)),
};

async function main(): Promise<void> {
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const cpu: Record<string, number> = {};
  const rows: (string | number)[][] = [['case', 'intake', 'median ms', 'CPU ms/request']];
  for (const [name, body] of Object.entries(cases)) {
    for (const chunked of [false, true]) {
      const label = `${name} ${(body.length / MB).toFixed(2)} MB ${chunked ? 'chunked' : 'declared'}`;
      for (let i = 0; i < 10; i++) {
        await post(port, `/old/warm`, body, chunked);
        await post(port, `/new/warm`, body, chunked);
      }
      for (let i = 0; i < requests; i++) {
        // Alternate which goes first, so neither always follows the other's garbage.
        const order: ['old' | 'new', 'old' | 'new'] = i % 2 ? ['old', 'new'] : ['new', 'old'];
        for (const variant of order) {
          const before = process.cpuUsage();
          await post(port, `/${variant}/${encodeURIComponent(label)}`, body, chunked);
          const used = process.cpuUsage(before);
          cpu[`${variant}/${label}`] = (cpu[`${variant}/${label}`] ?? 0) + (used.user + used.system) / 1000;
        }
      }
      for (const [variant, shown] of [
        ['old', 'text()'],
        ['new', 'readRequestText'],
      ] as [string, Variant][]) {
        const key = `${variant}/${label}`;
        rows.push([label, shown, median(handlerMs[key] ?? []), (cpu[key] ?? 0) / requests]);
      }
    }
  }
  server.close();
  console.log(formatTable(rows));
}

await main();
