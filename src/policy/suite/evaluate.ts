/**
 * Runs policy tests through the gateway's own checks (`checkStages`) and its
 * gate's hold decision, on an in-memory store, with no upstream: a call is
 * decided exactly as the gateway would decide it, and nothing is executed.
 *
 * Tool definitions come from the test file, else from the pin lock beside the
 * policy (the definitions a reviewer approved). The catalog tightens them
 * with the policy's rules as the gateway does, so a rule that would widen a
 * schema keeps that tool out here too.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { lockPathFor, readLock } from '../../audit/pin.js';
import { denial } from '../../errors.js';
import { EventWriter } from '../../events/writer.js';
import { Catalog, type CatalogProblem } from '../../gateway/catalog.js';
import type { Notifier } from '../../notify/notifier.js';
import { checkStages } from '../../pipeline/checks.js';
import { holdReason } from '../../pipeline/gate.js';
import { LoopGuard } from '../../pipeline/loop-guard.js';
import type { ToolCall } from '../../pipeline/stage.js';
import { RunService } from '../../runs/service.js';
import { createScrubber } from '../../scrub/index.js';
import { openSqliteStore } from '../../store/sqlite/index.js';
import type { LoadedPolicy } from '../load.js';
import type { Expectation, PolicyTestCase, PolicyTestFile } from './schema.js';

export type Decision =
  | { decision: 'allow' }
  | { decision: 'hold'; reason: string }
  | { decision: 'deny'; code: string; message: string };

export interface CaseResult {
  name: string;
  passed: boolean;
  expected: Expectation;
  got: Decision;
}

export interface SuiteResult {
  results: CaseResult[];
  /** Tools the catalog left out (a widening rule): why a case may get tool_not_in_scope. */
  problems: CatalogProblem[];
  /** Exposed tools with no definition in the test file or the pin lock: absent here, as if not listed. */
  undefinedTools: string[];
}

/** Dry runs send nothing: alerts that a budget stage raises are dropped here. */
const silentNotifier: Notifier = { send: () => undefined, drain: async () => undefined };

export async function runPolicySuite(loaded: LoadedPolicy, suite: PolicyTestFile): Promise<SuiteResult> {
  const { policy } = loaded;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  // Each call a second apart: rate windows and the loop guard see a plausible pace, the same every run.
  const now = () => clock;
  const store = openSqliteStore(':memory:');
  try {
    const scrubber = createScrubber();
    const events = new EventWriter(store.events, scrubber);
    const runs = new RunService({ store, policy, events, scrubber, now, watchMs: 3_600_000 });
    const loopGuard = new LoopGuard({ runs, now });
    const problems: CatalogProblem[] = [];
    const catalog = new Catalog({ rules: policy.tools, onProblem: (p) => problems.push(p) });
    const definitions = definitionsFor(loaded, suite);
    for (const [upstream, tools] of Object.entries(definitions)) catalog.update(upstream, tools);
    const undefinedTools = Object.entries(policy.tools).flatMap(([upstream, rules]) =>
      Object.entries(rules)
        .filter(
          ([name, rule]) => rule.expose !== false && !definitions[upstream]?.some((t) => t.name === name),
        )
        .map(([name]) => `${upstream}.${name}`),
    );
    const checks = checkStages({ catalog, store, runs, events, notifier: silentNotifier, loopGuard, now });

    const decide = async (
      runId: string,
      c: { profile: string; tool: string; args: unknown },
    ): Promise<Decision> => {
      clock += 1_000;
      const run = await runs.get(runId);
      const profile = policy.profiles[c.profile];
      if (!run || !profile)
        return { decision: 'deny', code: 'not_found', message: `no profile "${c.profile}"` };
      const call: ToolCall = {
        run,
        profile,
        profileName: c.profile,
        name: c.tool,
        rawArgs: c.args,
        signal: new AbortController().signal,
        startedAt: now(),
        flags: [],
      };
      for (const stage of checks) {
        // A stage may answer at once or throw before it awaits anything: both are caught here.
        const outcome = await (async () => stage.run(call))().catch(() => ({
          ok: false as const,
          denial: denial('internal_error', 'The call could not be processed.'),
        }));
        if (!outcome.ok)
          return { decision: 'deny', code: outcome.denial.code, message: outcome.denial.message };
      }
      const reason = holdReason(call);
      return reason ? { decision: 'hold', reason } : { decision: 'allow' };
    };

    const results: CaseResult[] = [];
    for (const test of suite.tests) {
      const got = Object.hasOwn(policy.profiles, test.profile)
        ? await runCase(test, runs, decide)
        : ({
            decision: 'deny',
            code: 'not_found',
            message: `the policy has no profile "${test.profile}"`,
          } as const);
      results.push({ name: test.name, expected: test.expect, got, passed: matches(test.expect, got) });
    }
    runs.close();
    const undefinedSet = new Set(undefinedTools);
    return {
      results,
      problems: problems.filter((p) => !undefinedSet.has(`${p.upstream}.${p.tool}`)),
      undefinedTools,
    };
  } finally {
    await store.close();
  }
}

async function runCase(
  test: PolicyTestCase,
  runs: RunService,
  decide: (runId: string, c: { profile: string; tool: string; args: unknown }) => Promise<Decision>,
): Promise<Decision> {
  const { run } = await runs.create(test.profile, { label: test.name });
  for (const source of test.taint) await runs.taint(run.id, source);
  for (const earlier of test.before)
    await decide(run.id, { profile: test.profile, tool: earlier.tool, args: earlier.arguments });
  return decide(run.id, { profile: test.profile, tool: test.tool, args: test.arguments });
}

export function matches(expected: Expectation, got: Decision): boolean {
  if (expected === 'allow' || expected === 'hold') return got.decision === expected;
  if ('deny' in expected) return got.decision === 'deny' && got.code === expected.deny;
  return got.decision === 'hold' && got.reason.includes(expected.hold);
}

/** upstream → definitions: the test file's own, else the reviewed ones in the pin lock. */
function definitionsFor(loaded: LoadedPolicy, suite: PolicyTestFile): Record<string, Tool[]> {
  const lock = readLock(lockPathFor(loaded.file));
  const out: Record<string, Tool[]> = {};
  for (const upstream of Object.keys(loaded.policy.upstreams)) {
    const fromSuite = suite.definitions[upstream] ?? {};
    const fromLock = lock?.definitions?.[upstream] ?? {};
    const names = new Set([...Object.keys(fromLock), ...Object.keys(fromSuite)]);
    out[upstream] = [...names].map((name) => {
      const d = fromSuite[name] ?? fromLock[name];
      return {
        name,
        ...(d?.description ? { description: d.description } : {}),
        inputSchema: (d?.inputSchema ?? { type: 'object' }) as Tool['inputSchema'],
        ...(d?.annotations ? { annotations: d.annotations as Tool['annotations'] } : {}),
      };
    });
  }
  return out;
}
