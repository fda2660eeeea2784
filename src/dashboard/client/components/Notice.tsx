/** Inline messages: errors (announced to screen readers), empty states and loading. */
import type { ComponentChildren } from 'preact';
import { messageOf } from '../api.js';

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="note note-error" role="alert">
      {messageOf(error)}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="note note-empty">{children}</p>;
}

export function Loading() {
  return (
    <p class="note" aria-live="polite">
      Loading…
    </p>
  );
}
