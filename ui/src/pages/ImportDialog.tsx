import { useEffect, useRef, useState } from "react";
import { BackendError, toBackendError } from "../api/errors";
import { MAX_IMPORT_BYTES, fileToBase64, formatBytes } from "../api/files";
import { useSession } from "../app/session";
import type { ImportJob } from "../bindings/ImportJob";
import { Dialog, ExportStatus, FileErrors, XlsxFileField } from "../components/forms";
import { useExport } from "../components/hooks";
import { importFraction, importLabel, runImport } from "./importJob";

/**
 * Import accounts from an XLSX file: the backend checks the whole file first and refuses
 * it with every problem by row and column; a file that passes is imported as a job whose
 * progress is shown until it is done.
 */
export function ImportDialog({ onClose, onImported }: { onClose: () => void; onImported: () => void }) {
  const { client, domain } = useSession();
  const [file, setFile] = useState<File | null>(null);
  const [force, setForce] = useState(true);
  const [job, setJob] = useState<ImportJob | null>(null);
  const [hadPasswords, setHadPasswords] = useState(false);
  const [error, setError] = useState<BackendError | null>(null);
  const [pending, setPending] = useState(false);
  const closed = useRef(false);
  useEffect(
    () => () => {
      closed.current = true;
    },
    [],
  );

  const start = async () => {
    setError(null);
    setJob(null);
    if (!file) {
      setError(new BackendError("validation", "Choose an XLSX file first.", "file"));
      return;
    }
    if (file.size > MAX_IMPORT_BYTES) {
      setError(
        new BackendError("validation", `${file.name} has ${formatBytes(file.size)}; an import file may have at most 1 MB.`, "file"),
      );
      return;
    }
    setPending(true);
    try {
      const content = await fileToBase64(file);
      let first = true;
      const done = await runImport(
        client,
        { domain: domain!, file_name: file.name, content_base64: content, force_password_change: force },
        (j) => {
          if (first) setHadPasswords(j.phase === "hashing");
          first = false;
          if (!closed.current) setJob(j);
        },
        { cancelled: () => closed.current },
      );
      if (done.phase === "done") onImported();
    } catch (e) {
      if (!closed.current) setError(toBackendError(e));
    } finally {
      if (!closed.current) setPending(false);
    }
  };

  const template = useExport();

  const finished = job?.phase === "done";
  return (
    <Dialog title={`Import accounts into ${domain}`} onClose={onClose} className="wide">
      <div className="dialog-body import-dialog">
        <p className="muted small">
          One account per row of the{" "}
          <button
            type="button"
            className="link"
            disabled={template.pending}
            onClick={() => void template.save(() => client.call("accounts_template", {}))}
          >
            import template
          </button>{" "}
          (Email address, Display name, Department, Password, Notes); at most 5000 rows and 1 MB. Every row is checked before
          anything is written; if one has a problem, nothing is imported. Missing departments are created.
        </p>
        <ExportStatus action={template} />
        <XlsxFileField
          id="import-file"
          disabled={pending}
          onFile={(f) => {
            setFile(f);
            setError(null);
            setJob(null);
          }}
        />
        <label className="check">
          <input type="checkbox" checked={force} disabled={pending} onChange={(e) => setForce(e.target.checked)} /> Accounts
          given a password must change it at first logon
        </label>
        {job && (
          <div className="import-progress" role="status" aria-live="polite">
            <progress max={1} value={importFraction(job, hadPasswords)} aria-label="Import progress" />
            <span data-testid="import-phase" data-phase={job.phase}>
              {importLabel(job)}
            </span>
            {finished && job.new_departments.length > 0 && (
              <span className="muted small">New departments: {job.new_departments.join(", ")}</span>
            )}
          </div>
        )}
        <FileErrors error={error} />
      </div>
      <div className="dialog-buttons">
        <button type="button" onClick={onClose}>
          {finished ? "Close" : pending ? "Hide (the import goes on)" : "Cancel"}
        </button>
        {!finished && (
          <button type="button" className="primary" disabled={pending} onClick={() => void start()}>
            {pending ? "Importing…" : "Import"}
          </button>
        )}
      </div>
    </Dialog>
  );
}
