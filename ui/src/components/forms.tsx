import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { BackendError, toBackendError } from "../api/errors";
import { desktopOrNull, openedToFile } from "../api/files";
import type { Desktop } from "../api/tauri";
import type { ExportAction } from "./hooks";

/** The error for input `name`, if the backend named that field. */
export function fieldError(error: BackendError | null, name: string): BackendError | null {
  return error && error.field === name ? error : null;
}

interface FieldProps {
  label: string;
  /** The API field this input sets: a backend error naming it is shown here. */
  name: string;
  error?: BackendError | null;
  hint?: string;
  children: (props: {
    id: string;
    name: string;
    "aria-invalid": boolean;
    "aria-describedby": string | undefined;
  }) => ReactNode;
}

/** A labelled input with the backend's message about it right below. */
export function Field({ label, name, error, hint, children }: FieldProps) {
  const id = useId();
  const own = fieldError(error ?? null, name);
  const describedBy = [hint ? `${id}-hint` : "", own ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={own ? "field field-invalid" : "field"} data-field={name}>
      <label htmlFor={id}>{label}</label>
      {children({ id, name, "aria-invalid": !!own, "aria-describedby": describedBy })}
      {hint && (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      )}
      {own && (
        <div className="field-error" id={`${id}-error`} role="alert">
          {own.message}
        </div>
      )}
    </div>
  );
}

/**
 * The backend's error at the form (or button) level: shown unless one of `fields` (the
 * inputs of this form) already shows it.
 */
export function FormError({ error, fields = [] }: { error: BackendError | null; fields?: string[] }) {
  if (!error) return null;
  if (error.field && fields.includes(error.field)) return null;
  return (
    <div className="form-error" role="alert" data-code={error.code}>
      {error.message}
    </div>
  );
}

/** The search box of a list filtered on the backend (its text is debounced by the page). */
export function ListFilter({ label, placeholder, value, onChange }: { label: string; placeholder: string; value: string; onChange: (text: string) => void }) {
  return (
    <label className="filter">
      <input type="search" placeholder={placeholder} value={value} onChange={(e) => onChange(e.target.value)} aria-label={label} />
    </label>
  );
}

/** The "more" button under a list loaded a page at a time, and why the last page failed. */
export function MoreButton({ list, label }: { list: { more: boolean; loadingMore: boolean; loadMore: () => void; moreError: BackendError | null }; label: string }) {
  return (
    <>
      {list.more && (
        <button type="button" className="load-more" disabled={list.loadingMore} onClick={list.loadMore}>
          {list.loadingMore ? "Loading…" : label}
        </button>
      )}
      <FormError error={list.moreError} />
    </>
  );
}

/** How the last export of `action` ended: its error, or where the file went. */
export function ExportStatus({ action }: { action: ExportAction }) {
  if (action.error) return <FormError error={action.error} />;
  if (!action.note) return null;
  return (
    <span className="muted small export-note" role="status">
      {action.note}
    </span>
  );
}

/**
 * A refused file import: every problem by spreadsheet row and column when the backend
 * listed them (`rows`), else the error as a form error.
 */
export function FileErrors({ error }: { error: BackendError | null }) {
  if (!error || error.rows.length === 0) return <FormError error={error} />;
  return (
    <div className="form-error import-errors" role="alert" data-code={error.code}>
      <strong>{error.message.split("\n")[0]}</strong>
      <table className="table" aria-label="Problems in the file">
        <thead>
          <tr>
            <th scope="col">Row</th>
            <th scope="col">Column</th>
            <th scope="col">Problem</th>
          </tr>
        </thead>
        <tbody>
          {error.rows.map((r, i) => (
            <tr key={i} data-row={r.row}>
              <td>{r.row}</td>
              <td>{r.column}</td>
              <td>{r.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The "XLSX file" field of an import dialog; `onFile` gets the chosen file (or null). In the
 * desktop window the file is picked in the OS's open dialog (the app reads it, at most the
 * import limit); in a browser with the file input.
 */
export function XlsxFileField({
  id,
  disabled,
  invalid = false,
  onFile,
  desktop = desktopOrNull(),
}: {
  id: string;
  disabled: boolean;
  invalid?: boolean;
  onFile: (file: File | null) => void;
  desktop?: Desktop | null;
}) {
  const [chosen, setChosen] = useState<string | null>(null);
  const [problem, setProblem] = useState<BackendError | null>(null);
  // The OS dialog is not modal to the page: one at a time.
  const [picking, setPicking] = useState(false);
  if (!desktop) {
    return (
      <div className={invalid ? "field field-invalid" : "field"} data-field="file">
        <label htmlFor={id}>XLSX file</label>
        <input
          id={id}
          type="file"
          accept=".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
          disabled={disabled}
          onChange={(e) => onFile(e.target.files?.[0] ?? null)}
        />
      </div>
    );
  }
  const choose = async () => {
    setProblem(null);
    setPicking(true);
    try {
      const opened = await desktop.openFile("xlsx");
      if (!opened) return;
      setChosen(opened.file_name);
      onFile(openedToFile(opened));
    } catch (e) {
      setChosen(null);
      onFile(null);
      setProblem(toBackendError(e));
    } finally {
      setPicking(false);
    }
  };
  return (
    <div className={invalid || problem ? "field field-invalid" : "field"} data-field="file" role="group" aria-labelledby={`${id}-label`}>
      <span className="label" id={`${id}-label`}>
        XLSX file
      </span>
      <div className="file-choice">
        <button
          type="button"
          id={id}
          disabled={disabled || picking}
          aria-describedby={problem ? `${id}-chosen ${id}-error` : `${id}-chosen`}
          onClick={() => void choose()}
        >
          Choose file…
        </button>{" "}
        <span className="muted small" id={`${id}-chosen`} aria-live="polite" data-testid="chosen-file">
          {chosen ?? "No file chosen"}
        </span>
      </div>
      {problem && (
        <div className="field-error" id={`${id}-error`} role="alert">
          {problem.message}
        </div>
      )}
    </div>
  );
}

const DENIED_HINT = "Your admin account is not allowed to use this page (or this domain) on this backend.";

/** A page's load failure; a permission refusal is said plainly. */
export function PageError({ error, what }: { error: BackendError; what: string }) {
  if (error.code === "permission_denied") {
    return (
      <div className="page-error denied" role="alert" data-code={error.code}>
        <strong>Permission denied.</strong> {DENIED_HINT} <span className="muted">({error.message})</span>
      </div>
    );
  }
  if (error.code === "unavailable") {
    return (
      <div className="page-error" role="alert" data-code={error.code}>
        <strong>This backend cannot be reached.</strong> {error.message}
      </div>
    );
  }
  if (error.code === "unauthenticated") {
    return (
      <div className="page-error" role="alert" data-code={error.code}>
        <strong>The API token was refused.</strong> {error.message} Remove this backend and add it again with a valid
        token.
      </div>
    );
  }
  return (
    <div className="page-error" role="alert" data-code={error.code}>
      <strong>Could not load {what}.</strong> {error.message}
    </div>
  );
}

interface DialogProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** When set, the dialog is a form: Enter submits, Escape cancels. */
  onSubmit?: () => void;
  className?: string;
}

/**
 * A modal dialog on the native <dialog>: focus is trapped, Escape closes it, Enter in a
 * field submits its form, and focus returns to where it was.
 */
export function Dialog({ title, onClose, children, onSubmit, className }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  useEffect(() => {
    closeRef.current = onClose;
  }, [onClose]);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const previous = document.activeElement as HTMLElement | null;
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector<HTMLElement>("[autofocus], input, select, textarea, button:not(.dialog-x)");
    first?.focus();
    const cancel = (e: Event) => {
      e.preventDefault();
      closeRef.current();
    };
    dialog.addEventListener("cancel", cancel);
    return () => {
      dialog.removeEventListener("cancel", cancel);
      if (dialog.open) dialog.close();
      previous?.focus?.();
    };
  }, []);
  const body = onSubmit ? (
    <form
      method="dialog"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
      onKeyDown={(e) => {
        // Enter submits from a select or checkbox too, not only from text inputs.
        const t = e.target as HTMLElement;
        if (e.key === "Enter" && (t.tagName === "SELECT" || (t instanceof HTMLInputElement && t.type !== "text"))) {
          e.preventDefault();
          e.currentTarget.requestSubmit();
        }
      }}
    >
      {children}
    </form>
  ) : (
    children
  );
  return (
    <dialog ref={ref} className={`dialog ${className ?? ""}`} aria-labelledby={titleId}>
      <header className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="dialog-x ghost" aria-label="Close" onClick={() => onClose()}>
          ×
        </button>
      </header>
      {body}
    </dialog>
  );
}

/** The OK / Cancel row of a dialog form. */
export function DialogButtons({
  submit,
  pending,
  onCancel,
  danger,
}: {
  submit: string;
  pending?: boolean;
  onCancel: () => void;
  danger?: boolean;
}) {
  return (
    <div className="dialog-buttons">
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className={danger ? "danger" : "primary"} disabled={pending}>
        {pending ? "Working…" : submit}
      </button>
    </div>
  );
}

/** A yes/no question before something that cannot be undone. */
export function Confirm({
  title,
  children,
  confirm,
  onConfirm,
  onClose,
  error,
  pending,
}: {
  title: string;
  children: ReactNode;
  confirm: string;
  onConfirm: () => void;
  onClose: () => void;
  error: BackendError | null;
  pending: boolean;
}) {
  return (
    <Dialog title={title} onClose={onClose} onSubmit={onConfirm}>
      <div className="dialog-body">{children}</div>
      <FormError error={error} />
      <DialogButtons submit={confirm} danger pending={pending} onCancel={onClose} />
    </Dialog>
  );
}

/** Splits a textarea of addresses (lines, commas or spaces) into a list. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The whole number typed in a number field, or a validation error at that field: an empty
 * field is an error, never a silent 0 (the browser hands `Number("")` as 0).
 */
export function wholeNumber(text: string, field: string, label: string): number {
  const t = text.trim();
  if (t === "") throw new BackendError("validation", `${label}: enter a number.`, field);
  if (!/^\d+$/.test(t)) throw new BackendError("validation", `${label}: "${t}" is not a whole number.`, field);
  return Number(t);
}
