/**
 * An inspection worker: inspects and scrubs large tool results off the main
 * thread (pool.ts sends them). It holds one scrubber per family the main
 * thread uses, rebuilt from the same configured secrets, disabled rules and
 * PII actions, and kept current by the `secrets` messages that arrive, in
 * order, before any job that follows them. Jobs run one at a time, in order,
 * at a lower OS priority than the main thread (priority.ts).
 */
import { parentPort } from 'node:worker_threads';
import { measureJson } from '../../pipeline/measure-json.js';
import { RESULT_PREVIEW_BYTES } from '../../pipeline/record.js';
import { createScrubber, type MeasuredScrubber, type Scrubber } from '../../scrub/index.js';
import { redactionCounts } from '../../scrub/markers.js';
import { scrubJoined } from '../joined.js';
import { inspectAndWithhold } from '../output.js';
import { settleScrubbedPayloads } from '../payloads.js';
import { restoreLongStrings, stowLongStrings } from './long-values.js';
import { cutLargeMessage } from './parse.js';
import { lowerThisThread, WORKER_NICE } from './priority.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { sameData } from './same-data.js';

const port = parentPort;
if (!port) throw new Error('thread.ts runs as a worker thread only');
port.postMessage({ type: 'started', job: 0, priority: lowerThisThread(WORKER_NICE) } satisfies FromWorker);

const bases = new Map<number, { scrubber: MeasuredScrubber; byPii: Map<string, Scrubber> }>();

function handle(message: ToWorker): FromWorker | undefined {
  switch (message.type) {
    case 'base': {
      const scrubber = createScrubber({
        secrets: message.configured,
        disableRules: message.disableRules,
        maxDepth: message.maxDepth,
      });
      scrubber.addSecrets(message.added);
      bases.set(message.base, { scrubber, byPii: new Map() });
      return undefined;
    }
    case 'secrets': {
      const scrubber = bases.get(message.base)?.scrubber;
      if (message.forget) scrubber?.forgetSecrets(message.values);
      else scrubber?.addSecrets(message.values);
      return undefined;
    }
    case 'cut': {
      // Read (decoded into this thread's own strings) before answering: a slab is reused after.
      const text = cutLargeMessage(message.bytes, message.framing, message.maxBytes);
      return text === undefined ? { type: 'cut', job: message.job } : { type: 'cut', job: message.job, text };
    }
    case 'parse': {
      const { bytes } = message;
      // Read out of the slab first: the value's long strings may be written back into it.
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return { type: 'parsed', job: message.job, invalid: true };
      }
      const out = message.out ?? 0;
      const stowed = stowLongStrings(value);
      if (!stowed || out + stowed.size > bytes.buffer.byteLength)
        return { type: 'parsed', job: message.job, value };
      stowed.write(new Uint8Array(bytes.buffer, out, stowed.size));
      return { type: 'parsed', job: message.job, value: stowed.shape, strings: stowed.strings };
    }
    case 'inspect': {
      const family = bases.get(message.base);
      // Never scrub with a scrubber that may lack secrets: the main thread registers a family first.
      if (!family) return { type: 'failed', job: message.job, message: 'unknown scrubber family' };
      const key = JSON.stringify(message.pii);
      let scrubber = family.byPii.get(key);
      if (!scrubber) {
        scrubber = family.scrubber.withPii(message.pii);
        family.byPii.set(key, scrubber);
      }
      // Its long strings read out of the slab first (long-values.ts): the slab is reused after.
      const received = message.stowed
        ? restoreLongStrings(message.result, message.stowed.strings, message.stowed.bytes)
        : message.result;
      const inspected = inspectAndWithhold(received, message.options, scrubber);
      const scrubbed = scrubber.value(inspected.result);
      // As on the main thread (output.ts): the blocks are also scrubbed read joined.
      const result = scrubJoined(
        settleScrubbedPayloads(inspected.result, scrubbed),
        scrubber.text,
        message.options.shown,
      );
      return {
        type: 'done',
        job: message.job,
        flags: inspected.flags,
        findings: inspected.findings,
        // Nothing changed (same-data.ts): the main thread keeps its own copy, and the megabytes
        // are not serialised back.
        ...(sameData(received, result) ? {} : { result }),
        redactions: redactionCounts(inspected.result, scrubbed),
        // The audit record's size and preview, measured here rather than on the main thread.
        measured: measureJson(result.content, RESULT_PREVIEW_BYTES),
      };
    }
  }
}

port.on('message', (message: ToWorker) => {
  let answer: FromWorker | undefined;
  try {
    answer = handle(message);
  } catch (error) {
    // A family it cannot build: die, and the pool fails what it held and restarts it.
    if (message.type !== 'inspect' && message.type !== 'cut' && message.type !== 'parse') throw error;
    answer = {
      type: 'failed',
      job: message.job,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  if (answer) port.postMessage(answer);
});
