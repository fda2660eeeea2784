/** `bulkhead approvals`, `bulkhead approve ID`, `bulkhead deny ID`: decide held calls from a terminal. */
import type { Command } from 'commander';
import { BulkheadError } from '../errors.js';
import type { ApprovalView } from '../gateway/api-approvals.js';
import { argumentLines, argumentView, visible } from './approval-arguments.js';
import { GatewayClient } from './client.js';
import { action, ago, line, printJson, style, table } from './output.js';

interface Common {
  gateway?: string;
  json?: boolean;
}

const client = (opts: Common) => new GatewayClient({ ...(opts.gateway ? { gateway: opts.gateway } : {}) });

export function register(program: Command): void {
  program
    .command('approvals')
    .description('list approvals (pending by default)')
    .option(
      '--state <state>',
      'pending, approved, denied, timed_out, withdrawn, executing, executed, failed, outcome_unknown',
      'pending',
    )
    .option('--gateway <url>', 'gateway URL')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: Common & { state: string }) => {
        const { approvals } = await client(opts).get<{ approvals: ApprovalView[] }>(
          `/api/approvals?state=${encodeURIComponent(opts.state)}`,
        );
        if (opts.json) {
          printJson(approvals);
          return 0;
        }
        if (approvals.length === 0) {
          line(`no ${opts.state} approvals`);
          return 0;
        }
        const now = Date.now();
        line(
          table([
            ['APPROVAL', 'RUN', 'TOOL', 'CLASS', 'VOTES', 'TIME LEFT'].map(style.bold),
            ...approvals.map((a) => [
              a.id,
              a.run_id,
              a.tool,
              a.class,
              `${a.votes.filter((v) => v.decision === 'approve').length}/${a.quorum}`,
              a.state === 'pending' ? ago(a.expires_at - now) : a.state,
            ]),
          ]),
        );
        // Every argument of every call, never cut: what differs from the same tool's other
        // held calls (or from the original, once edited) comes first, marked *.
        const width = process.stdout.columns || 100;
        for (const a of approvals) {
          line();
          line(`${style.bold(a.id)} ${a.tool} (${a.class}): ${visible(a.why)}`);
          const siblings = approvals
            .filter((o) => o.id !== a.id && o.tool === a.tool)
            .map((o) => o.arguments);
          for (const text of argumentLines(argumentView(a.arguments, a.edited_arguments, siblings), width))
            line(text);
        }
        return 0;
      }),
    );

  program
    .command('approve')
    .description('approve a held call (it then runs once, with exactly these arguments)')
    .argument('<id>', 'approval id')
    .option('--reason <text>', 'why, for the audit log')
    .option('--arguments <json>', 'approve with edited arguments (if the tool rule allows edits)')
    .option('--hash <sha256>', 'the run_hash you reviewed (bulkhead approvals --json); refused if it changed')
    .option('--gateway <url>', 'gateway URL')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, opts: Common & { reason?: string; arguments?: string; hash?: string }) => {
        let edited: unknown;
        if (opts.arguments) {
          try {
            edited = JSON.parse(opts.arguments);
          } catch {
            throw new BulkheadError('bad_request', '--arguments must be a JSON object');
          }
        }
        // The gateway refuses an approval of arguments other than the ones reviewed: without
        // --hash, what is reviewed is what this command reads now, and it says what that is.
        const gateway = client(opts);
        const seen =
          opts.hash ??
          (await gateway.get<{ approval: ApprovalView }>(`/api/approvals/${encodeURIComponent(id)}`)).approval
            .run_hash;
        const { approval } = await gateway.post<{ approval: ApprovalView }>(
          `/api/approvals/${encodeURIComponent(id)}/approve`,
          {
            args_hash: seen,
            ...(opts.reason ? { reason: opts.reason } : {}),
            ...(edited !== undefined ? { arguments: edited } : {}),
          },
        );
        if (opts.json) printJson(approval);
        else {
          line(
            approval.state === 'approved'
              ? `approved ${approval.id}: ${approval.tool} will run once, with these arguments:`
              : `voted on ${approval.id} (${approval.votes.length}/${approval.quorum}): ${approval.tool} with these arguments:`,
          );
          const view = argumentView(approval.arguments, approval.edited_arguments);
          for (const text of argumentLines(view, process.stdout.columns || 100)) line(text);
          if (approval.waiting === 0)
            line(
              '  the agent that asked is no longer waiting: it runs only if the agent retries the same call',
            );
          for (const other of approval.identical ?? [])
            line(`  an identical call of this run is ${other.state} under ${other.id}`);
        }
        return 0;
      }),
    );

  program
    .command('deny')
    .description('deny a held call; the agent gets approval_denied with your reason')
    .argument('<id>', 'approval id')
    .requiredOption('--reason <text>', 'why (the agent sees it, scrubbed)')
    .option('--gateway <url>', 'gateway URL')
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, opts: Common & { reason: string }) => {
        const { approval } = await client(opts).post<{ approval: ApprovalView }>(
          `/api/approvals/${encodeURIComponent(id)}/deny`,
          { reason: opts.reason },
        );
        if (opts.json) printJson(approval);
        else line(`denied ${approval.id}: ${approval.tool}`);
        return 0;
      }),
    );
}
