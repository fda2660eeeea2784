/**
 * Stage 4, validate: arguments must pass the tightened schema (compiled once
 * per tool) before anything else looks at them. Validation is deny-on-failure:
 * a value that cannot be checked is rejected, never passed through. A walk
 * runs first (arguments-walk.ts): depth limit, prototype keys anywhere,
 * non-finite numbers. The same check guards an approver's edited arguments.
 */
import { type Denial, denial } from '../errors.js';
import type { CatalogTool } from '../gateway/catalog.js';
import { fillDefaults } from '../gateway/schema-defaults.js';
import { escapePointer, MAX_ARGUMENT_DEPTH, walkArguments } from './arguments-walk.js';
import { CONTINUE, deny, type Stage } from './stage.js';

export { MAX_ARGUMENT_DEPTH } from './arguments-walk.js';

export function validateStage(): Stage {
  return (call) => {
    const tool = call.tool;
    if (!tool) return deny(denial('internal_error', 'The call could not be checked.'));
    if (call.droppedKey !== undefined) {
      // The HTTP layer saw a key that the SDK's parsing then removed (see gateway/dropped-keys.ts).
      return deny(forbiddenKey(call.droppedKey));
    }
    const checked = checkArguments(tool, call.rawArgs ?? {});
    if (!checked.ok) return deny(checked.denial);
    call.args = checked.args;
    return CONTINUE;
  };
}

export type CheckedArguments = { ok: true; args: Record<string, unknown> } | { ok: false; denial: Denial };

/** Everything validate refuses, for any path that hands arguments to an upstream or an approver. */
export function checkArguments(tool: Pick<CatalogTool, 'validate'>, args: unknown): CheckedArguments {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return {
      ok: false,
      denial: denial('invalid_arguments', 'Arguments must be an object.', { pointer: '' }),
    };
  }
  const walked = walkProblem(args);
  if (walked) return walked;
  // The upstream's defaults, filled before the schema is checked (gateway/schema-defaults.ts).
  const filled = fillDefaults(tool.validate.schema, args as Record<string, unknown>);
  if (!filled.ok) {
    return {
      ok: false,
      denial: denial(
        'invalid_arguments',
        `Argument ${filled.pointer || '(root)'} leaves out a value the tool would fill in a way the gateway cannot tell; send it explicitly.`,
        {
          pointer: filled.pointer,
          keyword: filled.reason === 'too_costly' ? 'defaultsTooCostly' : 'ambiguousDefault',
        },
      ),
    };
  }
  // A default may hold what the walk refuses (a prototype key, a deep value): walked again.
  const defaulted = filled.value === args ? undefined : walkProblem(filled.value);
  if (defaulted) return defaulted;
  return checkSchema(tool, filled.value);
}

function walkProblem(args: object): CheckedArguments | undefined {
  const problem = walkArguments(args);
  if (problem) {
    switch (problem.kind) {
      case 'too_deep':
        return {
          ok: false,
          denial: denial(
            'invalid_arguments',
            `Arguments are nested deeper than ${MAX_ARGUMENT_DEPTH} levels.`,
            {
              pointer: '',
            },
          ),
        };
      case 'forbidden_key':
        return { ok: false, denial: forbiddenKey(problem.pointer) };
      case 'non_finite':
        return {
          ok: false,
          denial: denial('invalid_arguments', `Argument ${problem.pointer} is not a finite number.`, {
            pointer: problem.pointer,
            keyword: 'finite',
          }),
        };
    }
  }
  return undefined;
}

function checkSchema(tool: Pick<CatalogTool, 'validate'>, args: Record<string, unknown>): CheckedArguments {
  if (!tool.validate(args)) {
    const error = tool.validate.errors?.[0];
    const extra =
      error?.keyword === 'additionalProperties'
        ? String(error.params.additionalProperty ?? '')
        : error?.keyword === 'unevaluatedProperties'
          ? String(error.params.unevaluatedProperty ?? '')
          : '';
    const pointer = extra
      ? `${error?.instancePath ?? ''}/${escapePointer(extra)}`
      : (error?.instancePath ?? '');
    return {
      ok: false,
      denial: denial('invalid_arguments', `Argument ${pointer || '(root)'} ${explain(error?.keyword)}.`, {
        pointer,
        keyword: error?.keyword ?? 'unknown',
      }),
    };
  }
  return { ok: true, args };
}

function forbiddenKey(pointer: string): Denial {
  return denial('invalid_arguments', `Argument ${pointer} is not accepted by this tool.`, {
    pointer,
    keyword: 'forbiddenKey',
  });
}

/** Our own words for each keyword: the value itself is never echoed back (it may hold a secret). */
function explain(keyword: string | undefined): string {
  switch (keyword) {
    case 'additionalProperties':
    case 'unevaluatedProperties':
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
    case 'exclusiveMaximum':
      return 'is too large';
    case 'minLength':
    case 'minItems':
    case 'minimum':
    case 'exclusiveMinimum':
      return 'is too small';
    case 'format':
      return 'does not have the required format';
    default:
      return 'is not valid for this tool';
  }
}
