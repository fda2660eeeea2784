/**
 * The permission check shared by the operator API's route files. By the time a
 * route runs, the API's middleware (api.ts) has already refused any request
 * without a valid operator credential; `guard` then refuses an operator whose
 * roles lack the route's permission (a viewer killing runs, say), with the
 * stable code `forbidden`, before the route reads its body or touches a run.
 */
import { BulkheadError } from '../errors.js';
import { can, type Operator, type Permission } from './operators.js';

/** The request context of every operator route: the operator the middleware authenticated. */
export type OperatorEnv = { Variables: { operator: Operator } };

export function guard(c: { get(key: 'operator'): Operator }, permission: Permission): void {
  if (!can(c.get('operator'), permission)) {
    throw new BulkheadError('forbidden', `This operator may not ${permission.replace('.', ' ')}.`);
  }
}
