/** A run: one agent execution under a profile, with its own token and state. */

export const RUN_STATES = ['active', 'completed', 'killed', 'expired', 'exhausted'] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface Taint {
  /** The run has read content from an open-world source (web page, ticket, external tool). */
  untrusted: boolean;
  /** Where the taint came from: exposed tool names, in order of arrival. */
  sources: string[];
}

/** Classes of data a tool or upstream can be a source of (`sources:` in the policy). */
export const DATA_CLASSES = ['private', 'secret'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

/** Which sources of each class the run has read (exposed tool names, in order of arrival). */
export type DataRead = Record<DataClass, string[]>;

export const NOTHING_READ: Readonly<DataRead> = Object.freeze({ private: [], secret: [] });

/**
 * A value the run received from a private or secret source, kept as a
 * fingerprint only (see src/dataflow/fingerprint.ts): enough to recognise the
 * value in a later call's arguments, never the value itself.
 */
export interface ValueFingerprint {
  fingerprint: string;
  /** The exposed tool it came from. */
  source: string;
  /** What it looked like: an e-mail address, a phone number, or another identifying value. */
  kind: 'email' | 'phone' | 'value';
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
  /**
   * The `bulkhead run` process that started the run and holds its jail (`hostLauncherTag`: boot,
   * pid namespace, pid, start time), or null (created by other means, or `--detach`): a run whose
   * launcher is gone is killed (launcher-watch.ts).
   */
  launcher: string | null;
  taint: Taint;
  /** Private and secret sources the run has read; flow rules read it. */
  read: DataRead;
}

export function isActive(run: Run, now: number): boolean {
  return run.state === 'active' && run.expiresAt > now;
}
