/**
 * What the launcher runs: the agent's environment (its own variables over the jail's defaults, with
 * the proxy settings and the proxy preload the jail sets itself) and bubblewrap's command line with
 * the jail's init as its entry. Kept apart from the build as the one place that says what the agent
 * is started with.
 */
import { type BridgeKind, bridgeEntry, JAIL_PROXY_PORT, jailBridges } from './bridge.js';
import { bwrapArgv, JAIL_RUNTIME } from './bwrap-argv.js';
import { SECCOMP_FD } from './jail-launcher.js';
import type { JailSpec } from './jail-spec.js';
import { STATUS_FD } from './jail-status.js';
import type { Premounted } from './sized-mounts.js';

/** The agent's variables: PATH, HOME, LANG and the proxy settings, then the spec's, then NODE_OPTIONS. */
export function jailEnv(given: Readonly<Record<string, string>>): Record<string, string> {
  const proxyUrl = `http://127.0.0.1:${JAIL_PROXY_PORT}`;
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    HTTP_PROXY: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    https_proxy: proxyUrl,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...given,
    // Node's fetch ignores the proxy variables; this preload makes it use them (node-proxy.cjs).
    NODE_OPTIONS: [`--require ${JAIL_RUNTIME}/node-proxy.cjs`, given.NODE_OPTIONS].filter(Boolean).join(' '),
  };
}

/**
 * bwrap's arguments: the jail's init stages the workdir (none to unpack for an empty one), starts
 * the in-jail bridges unless the ports listen inside the jail, then runs the command.
 */
export function jailArgv(parts: {
  spec: Pick<JailSpec, 'command' | 'limits'>;
  env: Record<string, string>;
  bridge: BridgeKind;
  listening: boolean;
  stage: 'tar' | 'empty';
  workdirSizeBytes: number;
  shared: string;
  mounts: readonly string[];
  seccomp: boolean;
  premounted: Premounted;
}): string[] {
  return bwrapArgv({
    env: parts.env,
    entry: bridgeEntry(parts.bridge, parts.listening ? [] : jailBridges(), parts.spec.command, parts.stage),
    tmpSizeBytes: parts.spec.limits.tmpBytes,
    workdirSizeBytes: parts.workdirSizeBytes,
    runtimeDir: parts.shared,
    readOnlyMounts: parts.mounts,
    premounted: parts.premounted,
    ...(parts.seccomp ? { seccompFd: SECCOMP_FD } : {}),
    statusFd: STATUS_FD,
  });
}
