/**
 * What a caller gives startJail (JailSpec, and the late part a run adds once it exists) and what it
 * gets back: the handle of a running jail and how that jail ended.
 */
import type { Readable } from 'node:stream';
import type { BridgeKind } from './bridge.js';
import type { CgroupLimits, ResourcePeaks } from './cgroup.js';
import type { EgressEvent, Resolver } from './egress-proxy.js';
import type { PreparedLaunch } from './launch.js';
import type { MergeReport } from './merge.js';
import type { HostSecret } from './workdir-guard.js';

export interface JailSpec {
  /** Names the cgroup; any characters outside [A-Za-z0-9_.-] are replaced. */
  runId: string;
  /** The host folder the agent works on: staged into the jail, its final state merged back at exit. */
  workdir: string;
  command: string[];
  /** Variables the agent gets, on top of PATH, HOME, LANG and the proxy settings. Nothing else enters. */
  env: Record<string, string>;
  /** workdirBytes sizes the jail's /workspace (default: the memory limit, which it counts against). */
  limits: CgroupLimits & { tmpBytes: number };
  /** The profile's `host:port` egress list; empty means no network at all. */
  egress: readonly string[];
  /** The gateway as the host reaches it, e.g. http://127.0.0.1:7300; the jail reaches it at 127.0.0.1:7300. */
  gatewayUrl: string;
  /** Every egress attempt, allowed or denied (the caller writes it to the audit log). */
  onEgress?: (event: EgressEvent) => void;
  /** Resolver for the egress proxy; tests inject one. */
  resolve?: Resolver;
  /** Wall clock: the whole tree is killed when it passes. */
  timeoutMs?: number;
  /** Aborting kills the whole tree (reason `aborted`), and ends a start that is still under way. */
  signal?: AbortSignal;
  /** The agent's stdin/stdout/stderr; `inherit` by default. */
  stdio?: 'inherit' | 'pipe' | 'ignore';
  /** Where cgroups are mounted (default /sys/fs/cgroup); tests point it elsewhere to force rlimits. */
  cgroupRoot?: string;
  /** The in-jail bridge: socat when installed (fast start), else node. */
  bridge?: BridgeKind;
  /**
   * How the jail's 127.0.0.1:7301 and 127.0.0.1:7300 reach the egress proxy and the gateway
   * bridge: `listener` (the default for a root launcher with CAP_SYS_ADMIN and perl,
   * egress-listen.ts) is a listening socket for each made inside the jail's network namespace and
   * accepted on by the proxy and the bridge's host side themselves; `bridge` is the in-jail
   * bridges (`bridge`), a copy of every byte.
   */
  egressPort?: 'listener' | 'bridge';
  /**
   * Host paths the agent must never see, on top of $HOME and its credential folders (always
   * refused): the policy's folder, the store, the operator token, the gateway home. A workdir that
   * is one of them, holds one, or lies inside one is refused with `workdir_refused`.
   */
  hostSecrets?: readonly (string | HostSecret)[];
  /** Host folders mounted read-only at the same path (the profile's sandbox.mounts). */
  readOnlyMounts?: readonly string[];
  /** Run with rlimits where no cgroup can be made (the profile's sandbox.weaker_limits); refused otherwise. */
  acceptWeakerLimits?: boolean;
  /** Steering paths whose changes the merge carries over (the profile's sandbox.carry_over). */
  carryOver?: readonly string[];
  /**
   * Files the agent reads, read-only, at `/run/bulkhead/NAME` (e.g. its MCP client config, which
   * holds the run token: never written into the workdir, which outlives the run).
   */
  files?: Readonly<Record<string, string>>;
  /**
   * What only a run knows, for a jail built while its run is being created (`bulkhead run` does
   * both at once): awaited once the workdir is staged, before the agent starts. Its env is added
   * to the agent's, its files to /run/bulkhead, its timeoutMs replaces this spec's. A rejection
   * ends the jail before the agent runs, and startJail rejects with it.
   */
  late?: Promise<LateJailSpec>;
  /**
   * The launcher started ahead (prepareJail), used where it fits (a root launcher with the
   * listener's helper, the agent on this process's stdio) and ended unused otherwise, or when the
   * start fails before it is used.
   */
  launcher?: PreparedLaunch;
}

export interface LateJailSpec {
  env: Record<string, string>;
  files?: Readonly<Record<string, string>>;
  timeoutMs?: number;
}
/** @deprecated the earlier name of JailSpec */
export type JailOptions = JailSpec;

export type WorkdirOutcome = MergeReport | { applied: 0; notes: []; error: string };

export interface JailExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why it ended: `exited`, `out of memory`, `timeout`, `aborted`, or the reason given to kill(). */
  reason: string;
  peaks: ResourcePeaks;
  /** Same as peaks.memoryBytes. */
  peakMemoryBytes: number | null;
  /**
   * Processes still in the cgroup after the agent's main process ended (all killed then). Usually 0:
   * the pid namespace already takes them down when its first process exits.
   */
  survivors: number;
  /** What the merge carried back to the host workdir, and what it held back or dropped. */
  workdir: WorkdirOutcome;
}

export interface JailHandle {
  /** Host pid of bwrap. */
  pid: number;
  /** Host pid of the jailed child (the bridge, then the agent's parent). */
  jailPid: number;
  /** The jail's user on the host (never 0). */
  hostUid: number;
  /** What is in force, one line per limit, naming the mechanism; for the CLI to print. */
  limits: Record<string, string>;
  exited: Promise<JailExit>;
  /** Ends the whole tree; resolves once it is gone (within one second). */
  kill(reason: string): Promise<void>;
  stdout: Readable | null;
  stderr: Readable | null;
  /**
   * Where start-up time went, in ms since startJail was called, by phase (the bench prints it):
   * `prepared` (checks, runtime folder, sockets, cgroup), `spawned` (bwrap reported the child),
   * `staged` (workdir unpacked), `go`. `exited` and `merged` are added when the jail ends.
   */
  phases: Record<string, number>;
}
