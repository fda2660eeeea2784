/** A run: one agent execution under a profile, with its own token and state. */

export const RUN_STATES = ['active', 'completed', 'killed', 'expired', 'exhausted'] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface Taint {
  /** The run has read content from an open-world source (web page, ticket, external tool). */
  untrusted: boolean;
  /** Where the taint came from: exposed tool names, in order of arrival. */
  sources: string[];
}

export interface Run {
  id: string;
  profile: string;
  state: RunState;
  /** SHA-256 of the run token; the token itself is never stored. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  endedAt: number | null;
  /** Why the run ended: exit code, who killed it, which budget ran out. */
  endReason: string | null;
  exitCode: number | null;
  label: string | null;
  taint: Taint;
}

export function isActive(run: Run, now: number): boolean {
  return run.state === 'active' && run.expiresAt > now;
}
