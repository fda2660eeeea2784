/**
 * A modal confirmation on the native <dialog>: focus moves into it, Escape
 * cancels, and the destructive button is not the default, so a stray Enter
 * cannot kill a run.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface ConfirmProps {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  /** Asks for a reason (kept in the audit log) when given a label. */
  reasonLabel?: string;
  onConfirm: (reason: string) => Promise<void> | void;
  onClose: () => void;
}

export function ConfirmDialog(props: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  const confirm = async () => {
    setBusy(true);
    try {
      await props.onConfirm(reason.trim());
    } finally {
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" onClose={props.onClose}>
      <h2 id="dialog-title">{props.title}</h2>
      <div class="dialog-body">{props.children}</div>
      {props.reasonLabel ? (
        <label class="field">
          <span>{props.reasonLabel}</span>
          <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} maxLength={500} />
        </label>
      ) : null}
      <div class="dialog-actions">
        <button type="button" class="btn" onClick={() => ref.current?.close()} autofocus>
          Cancel
        </button>
        <button type="button" class="btn btn-danger" onClick={confirm} disabled={busy}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
