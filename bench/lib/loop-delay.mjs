/**
 * Preloaded into a gateway under benchmark (`node --import bench/lib/loop-delay.mjs`): the main
 * thread's event-loop delay (`perf_hooks.monitorEventLoopDelay`, sampled every ms), as one JSON
 * line per 100 ms window appended to the file `BENCH_LOOP_DELAY_OUT`:
 * `{"at": wall ms at the window's end, "max": ms, "p99": ms}`. How long the loop every agent
 * shares was held at a stretch, read by bench/neighbours.bench.ts for each block's time span.
 * Plain JavaScript: it is loaded before tsx.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const out = process.env.BENCH_LOOP_DELAY_OUT;
if (isMainThread && out) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  setInterval(() => {
    if (histogram.count === 0) return;
    appendFileSync(
      out,
      `${JSON.stringify({ at: Date.now(), max: ms(histogram.max), p99: ms(histogram.percentile(99)) })}\n`,
    );
    histogram.reset();
  }, 100).unref();
}
