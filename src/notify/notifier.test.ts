/**
 * Notifiers against a real local HTTP receiver: signatures a receiver can
 * verify, retries with backoff, payloads with no secret, a Slack-shaped body,
 * and a `send` that never waits for the network.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { parsePolicy } from '../policy/load.js';
import { createScrubber } from '../scrub/index.js';
import { createNotifier, type Notice, signature } from './notifier.js';

const KEY = 'notifier-test-signing-key-0001';
const SECRET = 'notifier-test-upstream-secret-9d2e';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** A receiver that answers each request with the next status of `statuses` (then 200). */
async function receiver(statuses: number[] = [], hang = false): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body, at: Date.now() });
      if (hang) return;
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

const BACKOFF_MS = 60;

function notifier(notifiers: string, env: Record<string, string> = {}) {
  const policy = parsePolicy(
    `version: 1\nstore: { sqlite: ':memory:' }\nupstreams: {}\nprofiles: {}\nnotifiers:\n${notifiers}`,
  );
  const scrubber = createScrubber({ secrets: [SECRET, KEY] });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  return createNotifier(policy, {
    source: { env: { HOOK_KEY: KEY, ...env }, dir: '/' },
    scrubber,
    logger: createLogger({ scrubber, destination: sink, level: 'silent' }),
    retries: 3,
    backoffMs: BACKOFF_MS,
  });
}

const notice: Notice = {
  kind: 'approval.requested',
  title: 'Approval needed: orders__refund_order',
  data: { approval_id: 'apr_1', arguments: { note: `key ${SECRET}` } },
  link: 'http://127.0.0.1:7300/ui/approvals/apr_1',
};

describe('webhook notifier', () => {
  it('signs the timestamp and body with HMAC-SHA256 so a receiver can verify them', async () => {
    const r = await receiver();
    const n = notifier(`  hook: { type: webhook, url: "${r.url}", signing_key: { secret: HOOK_KEY } }\n`);
    n.send(notice);
    await n.drain();
    const [hit] = r.got;
    const timestamp = hit?.headers['x-bulkhead-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
    expect(hit?.headers['x-bulkhead-signature']).toBe(signature(KEY, timestamp, hit?.body as string));
    expect(signature(KEY, timestamp, `${hit?.body} `)).not.toBe(hit?.headers['x-bulkhead-signature']);
  });

  it('sends the notice as JSON with the link to the approval', async () => {
    const r = await receiver();
    const n = notifier(`  hook: { type: webhook, url: "${r.url}" }\n`);
    n.send(notice);
    await n.drain();
    expect(JSON.parse(r.got[0]?.body as string)).toMatchObject({
      kind: 'approval.requested',
      title: notice.title,
      data: { approval_id: 'apr_1' },
      link: notice.link,
    });
  });

  it('scrubs secrets out of the payload before it leaves', async () => {
    const r = await receiver();
    const n = notifier(`  hook: { type: webhook, url: "${r.url}", signing_key: { secret: HOOK_KEY } }\n`);
    n.send(notice);
    await n.drain();
    expect(r.got[0]?.body).not.toContain(SECRET);
    expect(r.got[0]?.body).not.toContain(KEY);
  });

  it('retries a failing receiver with growing backoff until it answers', async () => {
    const r = await receiver([503, 503]);
    const n = notifier(`  hook: { type: webhook, url: "${r.url}" }\n`);
    n.send(notice);
    await n.drain();
    expect(r.got).toHaveLength(3);
    const [a, b, c] = r.got.map((x) => x.at) as [number, number, number];
    // Lower bounds are exact (the wait is a timer); the second wait is twice the first.
    expect(b - a).toBeGreaterThanOrEqual(BACKOFF_MS - 2);
    expect(c - b).toBeGreaterThanOrEqual(2 * BACKOFF_MS - 2);
  });

  it('does not retry a request the receiver rejected as bad', async () => {
    const r = await receiver([400]);
    const n = notifier(`  hook: { type: webhook, url: "${r.url}" }\n`);
    n.send(notice);
    await n.drain();
    expect(r.got).toHaveLength(1);
  });

  it('returns from send at once even when the receiver never answers', async () => {
    const r = await receiver([], true);
    const n = notifier(`  hook: { type: webhook, url: "${r.url}" }\n`);
    const returned = n.send(notice);
    expect(returned).toBeUndefined();
    // send has returned while the receiver has not even seen the request, and it never answers.
    expect(r.got).toHaveLength(0);
    for (let i = 0; i < 100 && r.got.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(r.got).toHaveLength(1);
  });

  it('sends only the kinds a notifier lists', async () => {
    const r = await receiver();
    const n = notifier(`  hook: { type: webhook, url: "${r.url}", events: [approval.decided] }\n`);
    n.send(notice);
    n.send({ ...notice, kind: 'approval.decided', title: 'decided' });
    await n.drain();
    expect(r.got.map((x) => (JSON.parse(x.body) as { kind: string }).kind)).toEqual(['approval.decided']);
  });
});

describe('Slack-compatible notifier', () => {
  it('posts text and blocks with the title and a link, scrubbed', async () => {
    const r = await receiver();
    const n = notifier(`  chat: { type: slack, url: "${r.url}" }\n`);
    n.send(notice);
    await n.drain();
    const body = JSON.parse(r.got[0]?.body as string) as { text: string; blocks: unknown[] };
    expect(body.text).toContain(notice.title);
    expect(body.text).toContain(notice.link);
    expect(body.blocks.length).toBeGreaterThanOrEqual(2);
    expect(r.got[0]?.body).not.toContain(SECRET);
  });

  /** The blocks' texts of the one Slack message sent for a held call with `args`. */
  async function slackTexts(args: Record<string, unknown>): Promise<string[]> {
    const r = await receiver();
    const n = notifier(`  chat: { type: slack, url: "${r.url}" }\n`);
    const why = 'irreversible tool gated by policy; look-alike letters mixed into words';
    n.send({ ...notice, data: { approval_id: 'apr_2', arguments: args, why } });
    await n.drain();
    const body = JSON.parse(r.got[0]?.body as string) as { blocks: { text: { text: string } }[] };
    return body.blocks.map((b) => b.text.text);
  }

  it("keeps a held call's arguments inert: no end of the code block, no link of the agent's", async () => {
    const forged = '```\n*Approved by security* <https://evil.example/approve|Open in bulkhead> &amp;\n```';
    const texts = await slackTexts({ body: forged, to: 'ceo@company.com' });
    const all = texts.join('\n');
    expect(all).not.toContain('<https://evil.example');
    expect(all.match(/<[^>]*\|Open in bulkhead>/g)).toEqual([`<${notice.link}|Open in bulkhead>`]);
    for (const text of texts.filter((t) => t.startsWith('```'))) expect(text.match(/```/g)).toHaveLength(2);
  });

  it('writes look-alike keys and hidden characters as JSON escapes, the same value drawn as it is', async () => {
    const args = {
      PATH: '/usr/bin',
      'P\u0410TH': '/tmp/evil',
      note: 'pay \u202e0001\u202c to \u200bbob\u{e0041}',
    };
    const texts = await slackTexts(args);
    const block = texts.find((t) => t.includes('"arguments"')) as string;
    expect(block).toContain('"P\\u0410TH": ');
    expect(block).not.toMatch(/[\u0410\u202e\u202c\u200b]|\u{e0041}/u);
    // Still JSON, and still exactly the arguments the call holds.
    const shown = JSON.parse(block.slice(3, -3)) as { arguments: unknown };
    expect(shown.arguments).toEqual(args);
  });

  it('shows the reason before arguments long enough to be cut, and says where it cut', async () => {
    const texts = await slackTexts({ body: 'x'.repeat(3000), to: 'ceo@c\u043empany.com' });
    const why = texts.findIndex((t) => t.includes('look-alike letters'));
    const args = texts.findIndex((t) => t.includes('"arguments"'));
    expect(why).toBeGreaterThan(0);
    expect(why).toBeLessThan(args);
    expect(texts[args]).toContain('[cut: ');
  });
});
