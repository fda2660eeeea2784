/** Reads a JSON request body and validates it; every problem is a `bad_request` naming the field. */
import type { z } from 'zod';
import { BulkheadError } from '../errors.js';
import { holdsLoneSurrogate, readRequestText } from '../util/request-text.js';

export async function parseBody<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
  let raw: unknown = {};
  // The size is bounded by the API's bodyLimit before this runs; here bytes that are not UTF-8
  // are refused rather than read as U+FFFD (an approver's edited arguments, a run's workdir).
  const read = await readRequestText(request, Number.MAX_SAFE_INTEGER);
  if (!read.ok) {
    throw new BulkheadError(
      'bad_request',
      read.problem === 'not_utf8' ? 'The body is not valid UTF-8.' : 'The body could not be read.',
    );
  }
  const text = read.text;
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new BulkheadError('bad_request', 'The body is not valid JSON.');
    }
    if (holdsLoneSurrogate(text, raw))
      throw new BulkheadError('bad_request', 'The body escapes a lone surrogate (such as \\ud800).');
  }
  return validated(schema, raw, 'body');
}

/** Validates a request's query parameters the same way (`?minutes=60`). */
export function parseQuery<T extends z.ZodType>(query: Record<string, string>, schema: T): z.infer<T> {
  return validated(schema, query, 'query');
}

function validated<T extends z.ZodType>(schema: T, raw: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BulkheadError(
      'bad_request',
      `${issue?.path.join('.') || where}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
