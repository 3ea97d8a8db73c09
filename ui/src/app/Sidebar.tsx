import { useState } from "react";
import type { BackendError } from "../api/errors";
import type { Desktop } from "../api/tauri";
import type { BackendInfo } from "../bindings-desktop/BackendInfo";
import { Confirm, Dialog, DialogButtons, Field, FormError } from "../components/forms";
import { useAction } from "../components/hooks";
import { useTheme } from "./theme";

const STATUS_TEXT: Record<BackendInfo["status"], string> = {
  online: "online",
  unreachable: "unreachable",
  unauthorized: "token refused",
};

interface SidebarProps {
  backends: BackendInfo[];
  selected: string | null;
  onSelect: (id: string) => void;
  onSignOut?: () => void;
  desktop?: Desktop;
  onBackendsChanged?: () => void;
  listError?: BackendError | null;
}

/** The backends (with status) and the theme switch. */
export function Sidebar({ backends, selected, onSelect, onSignOut, desktop, onBackendsChanged, listError }: SidebarProps) {
  const [theme, cycleTheme] = useTheme();
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<BackendInfo | null>(null);
  const remove = useAction();
  return (
    <aside className="sidebar" aria-label="Backends">
      <div className="brand">Postdesk</div>
      <h2 className="sidebar-title">Backends</h2>
      {listError && (
        <div className="form-error" role="alert">
          {listError.message}
        </div>
      )}
      <ul className="backend-list">
        {backends.map((b) => (
          <li key={b.id} className={b.id === selected ? "backend selected" : "backend"}>
            <button
              type="button"
              className="backend-button"
              data-testid={`backend-${b.id}`}
              aria-current={b.id === selected ? "true" : undefined}
              onClick={() => onSelect(b.id)}
              title={b.error ?? b.url ?? undefined}
            >
              <span className={`status-dot ${b.status}`} aria-hidden="true" />
              <span className="backend-name">{b.name}</span>
              <span className={`backend-status ${b.status}`}>{STATUS_TEXT[b.status]}</span>
            </button>
            {desktop && b.kind === "remote" && (
              <button
                type="button"
                className="ghost small"
                aria-label={`Remove backend ${b.name}`}
                onClick={() => setRemoving(b)}
              >
                ×
              </button>
            )}
          </li>
        ))}
      </ul>
      {desktop && (
        <button type="button" className="add-backend" onClick={() => setAdding(true)}>
          + Add remote backend
        </button>
      )}
      <div className="sidebar-foot">
        <button type="button" className="ghost" onClick={cycleTheme} aria-label={`Theme: ${theme}. Change theme`}>
          Theme: {theme}
        </button>
        {onSignOut && (
          <button type="button" className="ghost" onClick={onSignOut}>
            Sign out
          </button>
        )}
      </div>
      {adding && desktop && (
        <AddBackendDialog
          desktop={desktop}
          onClose={() => setAdding(false)}
          onAdded={(b) => {
            setAdding(false);
            onBackendsChanged?.();
            onSelect(b.id);
          }}
        />
      )}
      {removing && desktop && (
        <Confirm
          title={`Remove backend ${removing.name}?`}
          confirm="Remove"
          error={remove.error}
          pending={remove.pending}
          onClose={() => setRemoving(null)}
          onConfirm={() =>
            void remove.run(() => desktop.removeBackend(removing.id).then(() => true)).then((ok) => {
              if (!ok) return;
              setRemoving(null);
              onBackendsChanged?.();
            })
          }
        >
          The app forgets this backend and its token. Nothing on the server changes.
        </Confirm>
      )}
    </aside>
  );
}

function AddBackendDialog({
  desktop,
  onClose,
  onAdded,
}: {
  desktop: Desktop;
  onClose: () => void;
  onAdded: (b: BackendInfo) => void;
}) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("https://");
  const [token, setToken] = useState("");
  const [cert, setCert] = useState("");
  const action = useAction();
  const submit = async () => {
    const added = await action.run(() =>
      desktop.addRemoteBackend({
        name: name.trim() || url.replace(/^https?:\/\//, ""),
        url: url.trim(),
        token: token.trim(),
        ...(cert.trim() ? { ca_cert_pem: cert } : {}),
      }),
    );
    if (added) onAdded(added);
  };
  const fields = ["name", "url", "token", "ca_cert_pem", "certificate"];
  return (
    <Dialog title="Add a remote backend" onClose={onClose} onSubmit={() => void submit()}>
      <Field label="Name" name="name" error={action.error}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="Head office" />}
      </Field>
      <Field label="URL" name="url" error={action.error} hint="https://host:port — plain http only to loopback">
        {(p) => <input {...p} value={url} onChange={(e) => setUrl(e.target.value)} required />}
      </Field>
      <Field label="API token" name="token" error={action.error} hint="Kept in the OS keyring, never in a file.">
        {(p) => (
          <input {...p} type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} required />
        )}
      </Field>
      <Field label="Trusted certificate (PEM, optional)" name="certificate" error={action.error}>
        {(p) => <textarea {...p} rows={3} value={cert} onChange={(e) => setCert(e.target.value)} />}
      </Field>
      <FormError error={action.error} fields={fields} />
      <DialogButtons submit="Add backend" pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}
