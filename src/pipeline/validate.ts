/**
 * Stage 4, validate: arguments must pass the tightened schema (compiled once
 * per tool) before anything else looks at them. Validation is deny-on-failure:
 * a value that cannot be checked is rejected, never passed through. A depth
 * limit runs first, so a deeply nested payload cannot exhaust the stack of
 * any later stage.
 */
import { denial } from '../errors.js';
import { CONTINUE, deny, type Stage } from './stage.js';

export const MAX_ARGUMENT_DEPTH = 32;

export function validateStage(): Stage {
  return async (call) => {
    const tool = call.tool;
    if (!tool) return deny(denial('internal_error', 'The call could not be checked.'));
    const args = call.rawArgs ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      return deny(denial('invalid_arguments', 'Arguments must be an object.', { pointer: '' }));
    }
    const odd = tamperedPrototype(args);
    if (odd !== undefined) {
      // A "__proto__" key that a JSON layer turned into a prototype: refuse the
      // whole call rather than forward an object whose inherited keys a
      // validator or an upstream might read as arguments.
      return deny(
        denial('invalid_arguments', 'Argument /__proto__ is not accepted by this tool.', { pointer: odd }),
      );
    }
    if (exceedsDepth(args, MAX_ARGUMENT_DEPTH)) {
      return deny(
        denial('invalid_arguments', `Arguments are nested deeper than ${MAX_ARGUMENT_DEPTH} levels.`, {
          pointer: '',
        }),
      );
    }
    if (!tool.validate(args)) {
      const error = tool.validate.errors?.[0];
      const extra =
        error?.keyword === 'additionalProperties' ? String(error.params.additionalProperty ?? '') : '';
      const pointer = extra
        ? `${error?.instancePath ?? ''}/${escapePointer(extra)}`
        : (error?.instancePath ?? '');
      return deny(
        denial('invalid_arguments', `Argument ${pointer || '(root)'} ${explain(error?.keyword)}.`, {
          pointer,
          keyword: error?.keyword ?? 'unknown',
        }),
      );
    }
    call.args = args as Record<string, unknown>;
    return CONTINUE;
  };
}

/** Our own words for each keyword: the value itself is never echoed back (it may hold a secret). */
function explain(keyword: string | undefined): string {
  switch (keyword) {
    case 'additionalProperties':
      return 'is not accepted by this tool';
    case 'required':
      return 'is missing a required property';
    case 'pattern':
      return 'does not match the required pattern';
    case 'type':
      return 'has the wrong type';
    case 'enum':
    case 'const':
      return 'is not one of the allowed values';
    case 'maxLength':
    case 'maxItems':
    case 'maximum':
      return 'is too large';
    case 'minLength':
    case 'minimum':
      return 'is too small';
    case 'format':
      return 'does not have the required format';
    default:
      return 'is not valid for this tool';
  }
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The pointer of the first object whose prototype is not a plain object's or an array's. */
export function tamperedPrototype(value: unknown, limit = MAX_ARGUMENT_DEPTH + 1): string | undefined {
  const stack: [unknown, string, number][] = [[value, '', 0]];
  while (stack.length > 0) {
    const [item, pointer, depth] = stack.pop() as [unknown, string, number];
    if (item === null || typeof item !== 'object' || depth > limit) continue;
    const proto = Object.getPrototypeOf(item);
    if (proto !== Object.prototype && proto !== Array.prototype && proto !== null)
      return `${pointer}/__proto__`;
    if (Object.hasOwn(item, '__proto__')) return `${pointer}/__proto__`;
    for (const [key, child] of Object.entries(item))
      stack.push([child, `${pointer}/${escapePointer(key)}`, depth + 1]);
  }
  return undefined;
}

/** Iterative, so the check itself cannot overflow the stack. */
export function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (item === null || typeof item !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}
