import { useId, useState } from "react";
import type { Client } from "../api/client";
import type { BackendError } from "../api/errors";
import { addAddress } from "../pages/sharedModel";
import { Field } from "./forms";
import { useAsync, type AsyncState } from "./hooks";

/** The domain's users (the first 1000), offered when picking owners and members; any other address can be typed. */
export function useDomainUsers(client: Client, domain: string): AsyncState<string[]> {
  return useAsync(
    () => client.call("list_accounts", { domain, limit: 1000 }).then((l) => l.items.map((a) => a.address)),
    [client, domain],
  );
}

/**
 * Addresses picked one at a time (the domain's users offered as suggestions), each with a
 * Remove button. `name` is the API field: the backend's error about it is shown here.
 */
export function AddressPicker({
  label,
  name,
  value,
  onChange,
  domain,
  options,
  error,
  disabled,
}: {
  label: string;
  name: string;
  value: string[];
  onChange: (v: string[]) => void;
  domain: string;
  options: string[];
  error: BackendError | null;
  disabled: boolean;
}) {
  const [typed, setTyped] = useState("");
  const listId = useId();
  const add = () => {
    onChange(addAddress(value, typed, domain));
    setTyped("");
  };
  return (
    <div className="address-picker">
      {value.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul className="chips" aria-label={label}>
          {value.map((a) => (
            <li key={a} data-address={a}>
              {a}
              {!disabled && (
                <button type="button" className="ghost" aria-label={`Remove ${a}`} onClick={() => onChange(value.filter((x) => x !== a))}>
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!disabled && (
        <div className="inline-form">
          <Field label={`Add to ${label.toLowerCase()} (address, or name in ${domain})`} name={name} error={error}>
            {(p) => (
              <input
                {...p}
                list={listId}
                value={typed}
                onChange={(e) => setTyped(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === "Enter") {
                    e.preventDefault();
                    add();
                  }
                }}
              />
            )}
          </Field>
          <datalist id={listId}>
            {options
              .filter((o) => !value.includes(o))
              .map((o) => (
                <option key={o} value={o} />
              ))}
          </datalist>
          <button type="button" disabled={typed.trim() === ""} onClick={add}>
            Add
          </button>
        </div>
      )}
    </div>
  );
}
