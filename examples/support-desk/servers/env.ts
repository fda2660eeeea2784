/**
 * Environment helpers shared by the example servers. An upstream's credential
 * arrives only through its environment (the gateway injects it from the
 * policy), so a missing one is a deployment error: the server refuses to start
 * rather than run unauthenticated.
 */

/** Returns the variable, or exits with a message naming it (never printing any value). */
export function requireEnv(name: string, server: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(
      `${server}: ${name} is not set; refusing to start. The gateway injects it from the policy (upstreams.${server}.env).`,
    );
    process.exit(1);
  }
  return value;
}

/** A test switch is on only when set to exactly "1": anything else leaves test-only tools unregistered. */
export function flag(name: string): boolean {
  return process.env[name] === '1';
}
