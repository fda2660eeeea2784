/**
 * The application logger. Every line passes the scrubber in pino's
 * `streamWrite` hook, after serialization, so no field, error message or
 * stack can carry a known secret to the log, whatever a caller logs.
 */
import { type Logger, pino } from 'pino';
import type { Scrubber } from './scrub/index.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  scrubber: Scrubber;
  level?: string;
  /** A file descriptor or stream; stderr by default so stdout stays for the CLI. */
  destination?: number | NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? 2;
  return pino(
    {
      level: options.level ?? process.env.BULKHEAD_LOG_LEVEL ?? 'info',
      base: { service: 'bulkhead' },
      hooks: { streamWrite: (line) => options.scrubber.text(line) },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination,
  );
}
