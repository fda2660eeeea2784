/**
 * How the CLI speaks: short lines for people on stdout, JSON for scripts with
 * --json, problems on stderr. Exit codes follow DESIGN.md: 0 ok, 1 the
 * checked thing failed, 2 usage or policy error.
 */
import { isBulkheadError } from '../errors.js';
import { visible } from './approval-arguments.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function line(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function warn(text: string): void {
  process.stderr.write(`${text}\n`);
}

/**
 * An error's message for a terminal: its lines with every control, format and hidden character
 * shown as `\u{…}`. A message can quote an upstream, a policy file or a server's answer, and an
 * escape in it would act on the operator's terminal (OSC 52 writes the clipboard).
 */
function warnMessage(prefix: string, message: string): void {
  warn(`${prefix}${message.split('\n').map(visible).join('\n')}`);
}

const colour = process.stdout.isTTY && !process.env.NO_COLOR;
export const style = {
  bold: (s: string) => (colour ? `\x1b[1m${s}\x1b[22m` : s),
  dim: (s: string) => (colour ? `\x1b[2m${s}\x1b[22m` : s),
  green: (s: string) => (colour ? `\x1b[32m${s}\x1b[39m` : s),
  red: (s: string) => (colour ? `\x1b[31m${s}\x1b[39m` : s),
  yellow: (s: string) => (colour ? `\x1b[33m${s}\x1b[39m` : s),
};

/** Prints an error the way a person can act on it and returns the exit code it deserves. */
export function reportError(error: unknown): number {
  // Recognised by shape, not by importing its class: that would load the policy schema (zod, yaml)
  // into every command, which costs most of a command's start-up.
  if (isPolicyError(error)) {
    warn(`bulkhead: the policy has ${error.issues.length} problem${error.issues.length > 1 ? 's' : ''}:`);
    warnMessage('', error.message);
    return EXIT.usage;
  }
  if (isBulkheadError(error)) {
    warnMessage('bulkhead: ', error.message);
    switch (error.code) {
      case 'policy_invalid':
      case 'policy_unreadable':
      case 'secret_missing':
      case 'bad_request':
      case 'not_found':
      case 'restart_required':
        return EXIT.usage;
      default:
        return EXIT.failed;
    }
  }
  warnMessage('bulkhead: ', error instanceof Error ? error.message : String(error));
  return EXIT.failed;
}

function isPolicyError(error: unknown): error is Error & { issues: unknown[] } {
  return (
    isBulkheadError(error) &&
    error.code === 'policy_invalid' &&
    Array.isArray((error as { issues?: unknown }).issues)
  );
}

/** Wraps a command action so every failure ends as a message and an exit code, never a stack. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined>) {
  return async (...args: A) => {
    try {
      process.exitCode = (await fn(...args)) ?? EXIT.ok;
    } catch (error) {
      process.exitCode = reportError(error);
    }
  };
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
