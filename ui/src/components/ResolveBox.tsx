import { useState } from "react";
import { useSession } from "../app/session";
import type { Resolution } from "../bindings/Resolution";
import { Field, FormError } from "./forms";
import { useAction } from "./hooks";
import { describeRoute } from "./resolution";

/** "Who receives mail sent to x@domain?": accounts, aliases, groups, pickup rules, catch-all. */
export function ResolveBox() {
  const { client, domain } = useSession();
  const [address, setAddress] = useState("");
  const [result, setResult] = useState<Resolution | null>(null);
  const action = useAction();
  const submit = async () => {
    const a = address.trim();
    const full = a.includes("@") ? a : `${a}@${domain}`;
    setResult(null);
    const r = await action.run(() => client.call("resolve_address", { address: full }));
    if (r) setResult(r);
  };
  return (
    <form
      className="panel resolve"
      aria-label="Who receives mail"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="inline-form">
        <Field label="Who receives mail sent to…" name="address" error={action.error}>
          {(p) => <input {...p} value={address} onChange={(e) => setAddress(e.target.value)} placeholder={`sales@${domain}`} />}
        </Field>
        <button type="submit" disabled={action.pending || !address.trim()}>
          Resolve
        </button>
      </div>
      <FormError error={action.error} fields={["address"]} />
      {result && (
        <div className="resolution" role="status" data-kind={result.kind}>
          <strong>{result.address}</strong> is {describeRoute(result)}.{" "}
          {result.mailboxes.length + result.external.length === 0 ? (
            "Nobody receives it."
          ) : (
            <>
              Delivered to:
              <ul>
                {result.mailboxes.map((m) => (
                  <li key={m}>{m}</li>
                ))}
                {result.external.map((m) => (
                  <li key={m}>
                    {m} <span className="muted">(external)</span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
    </form>
  );
}
