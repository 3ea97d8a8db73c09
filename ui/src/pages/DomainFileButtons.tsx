import { useState } from "react";
import { BackendError, toBackendError } from "../api/errors";
import { fileToBase64 } from "../api/files";
import { useSession } from "../app/session";
import { Dialog, ExportStatus, FileErrors, XlsxFileField } from "../components/forms";
import { useExport } from "../components/hooks";
import { exportedText, fileProblem, importedText, type DomainFileKind } from "./domainFiles";

/**
 * The Import…, Export and template buttons of a domain's rows (aliases, BCC, disclaimer and
 * monitoring rules): the import dialog checks the whole file on the backend and lists every
 * problem by row and column; exports are values only.
 */
export function DomainFileButtons({ kind, onImported }: { kind: DomainFileKind; onImported: () => void }) {
  const { client, domain, readOnly } = useSession();
  const [importing, setImporting] = useState(false);
  const exporting = useExport();
  const exportRows = () => exporting.save(() => client.call(kind.exportOp, { domain: domain! }), (file) => exportedText(file, kind));
  const template = () => exporting.save(() => client.call(kind.templateOp, {}));
  return (
    <>
      <button type="button" disabled={readOnly} onClick={() => setImporting(true)}>
        Import…
      </button>
      <button type="button" disabled={exporting.pending} onClick={() => void exportRows()}>
        Export
      </button>
      <button type="button" className="link" disabled={exporting.pending} onClick={() => void template()}>
        Import template
      </button>
      <ExportStatus action={exporting} />
      {importing && (
        <ImportDialog
          kind={kind}
          onClose={() => setImporting(false)}
          onImported={() => {
            onImported();
          }}
        />
      )}
    </>
  );
}

function ImportDialog({ kind, onClose, onImported }: { kind: DomainFileKind; onClose: () => void; onImported: () => void }) {
  const { client, domain } = useSession();
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<BackendError | null>(null);
  const [pending, setPending] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const start = async () => {
    setError(null);
    setResult(null);
    const problem = fileProblem(file, kind);
    if (problem || !file) {
      setError(new BackendError("validation", problem ?? "Choose an XLSX file first.", "file"));
      return;
    }
    setPending(true);
    try {
      const content_base64 = await fileToBase64(file);
      const done = await client.call(kind.importOp, { domain: domain!, file_name: file.name, content_base64 });
      setResult(importedText(done.added, kind));
      onImported();
    } catch (e) {
      setError(toBackendError(e));
    } finally {
      setPending(false);
    }
  };
  return (
    <Dialog title={`Import ${kind.plural} into ${domain}`} onClose={onClose} className="wide">
      <div className="dialog-body import-dialog">
        <p className="muted small">
          One {kind.noun} per row of the import template ({kind.columns}). The whole file is checked first; if a row has a
          problem, nothing is imported and every problem is listed by row and column. {kind.existing}
        </p>
        <XlsxFileField
          id={`${kind.importOp}-file`}
          disabled={pending}
          invalid={error?.field === "file"}
          onFile={(f) => {
            setFile(f);
            setError(null);
            setResult(null);
          }}
        />
        {result && (
          <div className="ok" role="status">
            {result}
          </div>
        )}
        <FileErrors error={error} />
      </div>
      <div className="dialog-buttons">
        <button type="button" onClick={onClose}>
          {result ? "Close" : "Cancel"}
        </button>
        {!result && (
          <button type="button" className="primary" disabled={pending} onClick={() => void start()}>
            {pending ? "Importing…" : "Import"}
          </button>
        )}
      </div>
    </Dialog>
  );
}
