import { useEffect, useState } from "react";
import type { BackendError } from "../api/errors";
import type { PortalApi } from "../api/portal";
import type { OwnForwarding } from "../bindings/OwnForwarding";
import type { PortalSession } from "../bindings/PortalSession";
import { Field, FormError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { forwardingText, parseTargets } from "./forwarding";

/** The user's own forwarding: where mail goes on to, keep a copy or not. */
export function ForwardingForm({
  api,
  session,
  onEnded,
}: {
  api: PortalApi;
  session: PortalSession;
  onEnded: (e: BackendError | null) => void;
}) {
  const stored = useAsync(() => api.forwarding(session.csrf_token), [api, session.csrf_token]);
  useEffect(() => onEnded(stored.error), [stored.error, onEnded]);
  if (stored.error) return <FormError error={stored.error} />;
  if (!stored.data) return null;
  return <ForwardingEditor api={api} session={session} initial={stored.data} onEnded={onEnded} />;
}

function ForwardingEditor({
  api,
  session,
  initial,
  onEnded,
}: {
  api: PortalApi;
  session: PortalSession;
  initial: OwnForwarding;
  onEnded: (e: BackendError | null) => void;
}) {
  const [targets, setTargets] = useState(initial.targets.join("\n"));
  const [keepCopy, setKeepCopy] = useState(initial.keep_copy);
  const [saved, setSaved] = useState<OwnForwarding>(initial);
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();
  useEffect(() => onEnded(action.error), [action.error, onEnded]);
  const save = async (list: string[], keep: boolean, what: string) => {
    setDone(null);
    const r = await action.run(() => api.setForwarding(session.csrf_token, { targets: list, keep_copy: keep }));
    if (r) {
      setSaved(r);
      setTargets(r.targets.join("\n"));
      setKeepCopy(r.keep_copy);
      setDone(what);
    }
  };
  return (
    <form
      aria-label="Forwarding"
      onSubmit={(e) => {
        e.preventDefault();
        void save(parseTargets(targets), keepCopy, "Forwarding saved.");
      }}
    >
      <p className="muted" role="status" data-testid="portal-forwarding-state">
        {forwardingText(saved)} {done}
      </p>
      {!saved.allowed && (
        <div className="notice" role="note" data-testid="portal-forwarding-refused">
          Your administrator does not allow this mailbox to forward mail automatically.
        </div>
      )}
      <Field
        label="Forward to"
        name="targets"
        error={action.error}
        hint="Up to 5 addresses, one per line"
      >
        {(p) => (
          <textarea
            {...p}
            rows={3}
            value={targets}
            readOnly={!saved.allowed}
            onChange={(e) => setTargets(e.target.value)}
          />
        )}
      </Field>
      <div className="field">
        <label>
          <input
            type="checkbox"
            checked={keepCopy}
            disabled={!saved.allowed}
            onChange={(e) => setKeepCopy(e.target.checked)}
          />{" "}
          Keep a copy in this mailbox
        </label>
      </div>
      <FormError error={action.error} fields={["targets"]} />
      <div className="actions">
        {saved.allowed && (
          <button type="submit" className="primary" disabled={action.pending}>
            {action.pending ? "Saving…" : "Save forwarding"}
          </button>
        )}
        {saved.targets.length > 0 && (
          <button
            type="button"
            disabled={action.pending}
            onClick={() => void save([], true, "Forwarding stopped.")}
          >
            Stop forwarding
          </button>
        )}
      </div>
    </form>
  );
}
