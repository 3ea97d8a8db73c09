import { useId, useState } from "react";
import { listAll, type Client } from "../api/client";
import { useAsync } from "./hooks";

/**
 * The addresses of a domain to pick from: its accounts (the first 1000), groups and aliases,
 * sorted; empty while loading or when the caller may not list them (typing still works).
 */
export function useDomainAddresses(client: Client, domain: string | null): string[] {
  const found = useAsync(async () => {
    if (!domain) return [];
    const [accounts, groups, aliases] = await Promise.all([
      client.call("list_accounts", { domain, limit: 1000 }).then((p) => p.items.map((a) => a.address)),
      listAll(client, "list_groups", { domain }).then((l) => l.map((g) => g.address)).catch(() => [] as string[]),
      listAll(client, "list_aliases", { domain }).then((l) => l.map((a) => a.address)).catch(() => [] as string[]),
    ]);
    return [...new Set([...accounts, ...groups, ...aliases])].sort();
  }, [client, domain]);
  return found.data ?? [];
}

/** Appends `address` as a line of `text` unless a line already holds it (any case). */
export function appendLine(text: string, address: string): string {
  const a = address.trim();
  if (a === "") return text;
  const lines = text.split(/[\s,;]+/).filter((l) => l !== "");
  if (lines.some((l) => l.toLowerCase() === a.toLowerCase())) return text;
  const base = text.replace(/\s+$/, "");
  return base === "" ? a : `${base}\n${a}`;
}

/** An address picker beside a free-text list: the domain's addresses suggested as you type. */
export function AddressSuggest({
  label,
  options,
  onPick,
  disabled,
}: {
  label: string;
  options: string[];
  onPick: (address: string) => void;
  disabled?: boolean;
}) {
  const [typed, setTyped] = useState("");
  const id = useId();
  const pick = () => {
    if (typed.trim() === "") return;
    onPick(typed.trim());
    setTyped("");
  };
  return (
    <div className="field inline-form address-suggest">
      <label htmlFor={`${id}-input`}>{label}</label>
      <input
        id={`${id}-input`}
        list={`${id}-list`}
        value={typed}
        disabled={disabled}
        onChange={(e) => setTyped(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            pick();
          }
        }}
      />
      <datalist id={`${id}-list`}>
        {options.map((o) => (
          <option key={o} value={o} />
        ))}
      </datalist>
      <button type="button" disabled={disabled || typed.trim() === ""} onClick={pick}>
        Add to the list
      </button>
    </div>
  );
}
