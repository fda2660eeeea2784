/**
 * Stage 6, flow: taint rules. Once a run has read untrusted content (a web
 * page, a ticket, an open-world tool's output), an injected instruction may be
 * steering it; the classic exfiltration is then "read private data, send it
 * out". So after taint, an `external` tool needs a human (the default) or is
 * refused, as the profile's `flow.tainted_external` says.
 */
import { denial } from '../errors.js';
import { CONTINUE, deny, type Stage } from './stage.js';

export function flowStage(): Stage {
  return async (call) => {
    const tool = call.tool;
    if (!tool || !call.run.taint.untrusted || tool.rule.class !== 'external') return CONTINUE;
    const sources = call.run.taint.sources.join(', ');
    switch (call.profile.flow.tainted_external) {
      case 'allow':
        return CONTINUE;
      case 'refuse':
        return deny(
          denial(
            'flow_blocked',
            'This run has read untrusted content, so tools that send data out are refused for the rest of the run.',
          ),
        );
      case 'approve':
        call.approvalReason = `the run read untrusted content (${sources}) and this tool sends data out`;
        return CONTINUE;
    }
  };
}
