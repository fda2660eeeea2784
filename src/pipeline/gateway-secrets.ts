/**
 * Part of stage 6, flow: a call whose arguments carry a secret of the gateway (the run's own
 * token, an upstream's credential) is refused before it can hold or run (dataflow/gateway-secrets.ts).
 */
import { carriesGatewaySecret, withheldStrings } from '../dataflow/gateway-secrets.js';
import { denial } from '../errors.js';
import { CONTINUE, deny, type Stage } from './stage.js';

export const GATEWAY_SECRET_REFUSAL =
  'The arguments carry a credential of this gateway (a run token or a service credential); the call was not sent.';

export function gatewaySecretsStage(deps: { scrub: (text: string) => string }): Stage {
  return (call) => {
    if (!call.args) return deny(denial('internal_error', 'The call could not be checked.'));
    if (carriesGatewaySecret(call.args, deps.scrub)) {
      // Recorded without its strings (record.ts reads `call.args`): halves would be kept as halves.
      call.args = withheldStrings(call.args) as Record<string, unknown>;
      return deny(denial('flow_blocked', GATEWAY_SECRET_REFUSAL));
    }
    return CONTINUE;
  };
}
