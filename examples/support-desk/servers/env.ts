/** Small helpers shared by the example servers. */

/** Reads a required variable or exits with a message naming it (never its value). */
export function requireEnv(name: string, server: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(
      `${server}: ${name} is not set; the gateway injects it from the policy (upstreams.${server}.env)`,
    );
    process.exit(1);
  }
  return value;
}

export function flag(name: string): boolean {
  return process.env[name] === '1';
}
