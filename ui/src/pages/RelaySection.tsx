import { useState } from "react";
import { listAll, type Client } from "../api/client";
import type { RelayAuth } from "../bindings/RelayAuth";
import type { RelayTls } from "../bindings/RelayTls";
import { Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import {
  authLabel,
  defaultPort,
  emptyRelayForm,
  formOf,
  relayParams,
  scopeLabel,
  tlsLabel,
  type RelayForm,
} from "./relayModel";

const AUTHS: RelayAuth[] = ["none", "plain", "login", "xoauth2"];

/**
 * The smarthost relays on the Outbound page: all outbound mail, or one sender domain's,
 * through a third-party server. TLS is always required (there is no plain mode); the
 * secret is write-only — the page shows whether one is set, never its value.
 */
export function RelaySection({ client, readOnly }: { client: Client; readOnly: boolean }) {
  const relays = useAsync(() => listAll(client, "list_relays", {}), [client]);
  const act = useAction();
  const [form, setForm] = useState<RelayForm>(emptyRelayForm);
  const set = (patch: Partial<RelayForm>) => setForm({ ...form, ...patch });

  const save = async () => {
    const done = await act.run(() => client.call("set_relay", relayParams(form)));
    if (done !== undefined) {
      setForm(emptyRelayForm());
      relays.reload();
    }
  };
  const remove = async (senderDomain: string | null) => {
    const done = await act.run(() =>
      client.call("remove_relay", senderDomain ? { sender_domain: senderDomain } : {}),
    );
    if (done !== undefined) relays.reload();
  };

  return (
    <>
      <h2>Smarthost relay</h2>
      <p className="muted">
        Outbound mail can go through a third-party server (your provider&apos;s SMTP relay) instead of the
        recipients&apos; MX hosts: all of it, or one sender domain&apos;s (which wins over the global relay). The transport
        table above still wins for the domains it lists. TLS is always required — implicit TLS or STARTTLS; there is no
        plain mode. A refused login (535) keeps the mail queued and shows the relay&apos;s reply above, so a wrong password
        does not bounce anything. XOAUTH2 takes a bearer token as its secret; it is used as given, not refreshed.
      </p>
      <FormError error={act.error} fields={["sender_domain", "host", "port", "username", "secret"]} />
      {relays.error ? (
        <PageError error={relays.error} what="the relays" />
      ) : relays.data && relays.data.length === 0 ? (
        <p className="empty" data-testid="no-relay">
          No relay: outbound mail goes to the recipients&apos; MX hosts.
        </p>
      ) : (
        <table className="table relays" aria-label="Relays">
          <thead>
            <tr>
              <th scope="col">Carries</th>
              <th scope="col">Host</th>
              <th scope="col">Port</th>
              <th scope="col">TLS</th>
              <th scope="col">Authentication</th>
              <th scope="col">User</th>
              <th scope="col">Secret</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {(relays.data ?? []).map((r) => (
              <tr key={r.sender_domain ?? "*"} data-relay={r.sender_domain ?? "*"}>
                <td>{scopeLabel(r)}</td>
                <td>{r.host}</td>
                <td>{r.port}</td>
                <td>{tlsLabel(r.tls, r.verify_certificate)}</td>
                <td>{authLabel(r.auth)}</td>
                <td>{r.username || "—"}</td>
                <td data-testid="secret-state">{r.auth === "none" ? "—" : r.secret_set ? "set" : "not set"}</td>
                <td>
                  {!readOnly && (
                    <span className="actions">
                      <button type="button" disabled={act.pending} onClick={() => setForm(formOf(r))}>
                        Edit
                      </button>
                      <button type="button" disabled={act.pending} onClick={() => remove(r.sender_domain)}>
                        Remove
                      </button>
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!readOnly && (
        <form
          className="inline-form relay-form"
          aria-label="Set a relay"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <Field label="Sender domain (empty: all mail)" name="sender_domain" error={act.error}>
            {(p) => <input {...p} value={form.senderDomain} onChange={(e) => set({ senderDomain: e.target.value })} />}
          </Field>
          <Field label="Relay host" name="host" error={act.error}>
            {(p) => <input {...p} value={form.host} onChange={(e) => set({ host: e.target.value })} />}
          </Field>
          <Field label="TLS" name="tls" error={act.error}>
            {(p) => (
              <select
                {...p}
                value={form.tls}
                onChange={(e) => {
                  const tls = e.target.value as RelayTls;
                  set({ tls, port: form.port === defaultPort(form.tls) ? defaultPort(tls) : form.port });
                }}
              >
                <option value="starttls">STARTTLS required</option>
                <option value="implicit">Implicit TLS</option>
              </select>
            )}
          </Field>
          <Field label="Port" name="port" error={act.error}>
            {(p) => <input {...p} value={form.port} onChange={(e) => set({ port: e.target.value })} />}
          </Field>
          <label className="checkbox">
            <input
              type="checkbox"
              checked={form.verifyCertificate}
              onChange={(e) => set({ verifyCertificate: e.target.checked })}
            />
            Check the relay&apos;s certificate
          </label>
          <Field label="Authentication" name="auth" error={act.error}>
            {(p) => (
              <select {...p} value={form.auth} onChange={(e) => set({ auth: e.target.value as RelayAuth })}>
                {AUTHS.map((a) => (
                  <option key={a} value={a}>
                    {authLabel(a)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {form.auth !== "none" && (
            <>
              <Field label="User" name="username" error={act.error}>
                {(p) => <input {...p} value={form.username} onChange={(e) => set({ username: e.target.value })} />}
              </Field>
              <Field
                label={form.auth === "xoauth2" ? "Bearer token" : "Password"}
                name="secret"
                error={act.error}
                hint="Write-only: leave empty to keep the stored one."
              >
                {(p) => (
                  <input
                    {...p}
                    type="password"
                    autoComplete="new-password"
                    value={form.secret}
                    onChange={(e) => set({ secret: e.target.value })}
                  />
                )}
              </Field>
            </>
          )}
          <button type="submit" disabled={act.pending}>
            Set relay
          </button>
        </form>
      )}
    </>
  );
}
