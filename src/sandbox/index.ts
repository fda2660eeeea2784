export { PROTECTED_FILES, PROTECTED_GIT } from './bwrap-argv.js';
export type { CgroupLimits } from './cgroup.js';
export { decideAddress, decideName, isInternalAddress, parseEgress } from './egress-policy.js';
export { createEgressProxy, type EgressEvent, type Resolver } from './egress-proxy.js';
export {
  checkSandboxSupport,
  JAIL_GATEWAY_PORT,
  JAIL_PROXY_PORT,
  type JailExit,
  type JailHandle,
  type JailOptions,
  startJail,
} from './jail.js';
