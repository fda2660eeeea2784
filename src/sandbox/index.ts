/**
 * The sandbox: what the agent's code can do. `startJail` runs a command in a
 * bubblewrap jail whose only ways out are the gateway and the egress proxy;
 * the rest is exported for tests, the benchmark and the CLI's reports.
 */
export {
  type BridgeKind,
  defaultBridgeKind,
  EGRESS_SOCKET,
  GATEWAY_SOCKET,
  JAIL_GATEWAY_PORT,
  JAIL_PROXY_PORT,
} from './bridge.js';
export { JAIL_WORKDIR } from './bwrap-argv.js';
export type { CgroupLimits, LimitName, ResourcePeaks } from './cgroup.js';
export {
  decideAddress,
  decideName,
  type EgressDecision,
  isInternalAddress,
  parseEgress,
} from './egress-policy.js';
export {
  createEgressProxy,
  type EgressEvent,
  type EgressProxyOptions,
  type Resolver,
} from './egress-proxy.js';
export { gatewayPath } from './gateway-bridge.js';
export { JAIL_HOST_UID, JAIL_UID_SLOTS } from './identity.js';
export {
  checkSandboxSupport,
  checkSandboxSupportSoon,
  type JailExit,
  type JailHandle,
  type JailOptions,
  type JailSpec,
  type LateJailSpec,
  prepareJail,
  startJail,
  type WorkdirOutcome,
} from './jail.js';
export type { MergeReport, WorkdirNote } from './merge.js';
export { DENIED_CALLS, seccompProgram } from './seccomp.js';
export { serveUnixToTcp } from './socket-host.js';
export { defaultHostSecrets, type HostSecret, refuseUnsafeWorkdir } from './workdir-guard.js';
