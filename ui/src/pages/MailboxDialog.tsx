import { useState } from "react";
import { formatBytes } from "../api/files";
import { useSession } from "../app/session";
import type { ClientEndpoint } from "../bindings/ClientEndpoint";
import { Confirm, Dialog, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { loginsLink, serviceLabel, when, why } from "./loginLog";

const nf = new Intl.NumberFormat();

function security(e: ClientEndpoint): string {
  return e.security === "tls" ? "TLS (SSL)" : "STARTTLS";
}

/** Where mail clients look for their settings (each name must point at this server). */
export function autoconfigUrls(address: string): { label: string; url: string }[] {
  const domain = address.slice(address.lastIndexOf("@") + 1);
  const q = `emailaddress=${encodeURIComponent(address)}`;
  return [
    { label: "Thunderbird", url: `https://autoconfig.${domain}/mail/config-v1.1.xml?${q}` },
    { label: "Thunderbird (well-known)", url: `https://${domain}/.well-known/autoconfig/mail/config-v1.1.xml?${q}` },
    { label: "Outlook (Autodiscover, POST)", url: `https://autodiscover.${domain}/autodiscover/autodiscover.xml` },
    { label: "Apple profile", url: `https://autoconfig.${domain}/apple/mobileconfig?${q}` },
  ];
}

/** The Apple profile from the server this UI is served by, when it is served over HTTP(S). */
export function mobileconfigLink(address: string, origin: string | null): string | null {
  if (!origin || !/^https?:\/\//.test(origin)) return null;
  return `${origin}/apple/mobileconfig?emailaddress=${encodeURIComponent(address)}`;
}

/**
 * "Enter mailbox": the exact settings a mail client needs, whether it could log
 * in now and why not, the folders with their counts and sizes, a folder's messages
 * (headers only), and cleaning the mailbox.
 */
export function MailboxDialog({ address, onClose }: { address: string; onClose: () => void }) {
  const { client, readOnly } = useSession();
  const view = useAsync(() => client.call("get_mailbox", { address }), [client, address]);
  const [folder, setFolder] = useState("INBOX");
  const messages = useAsync(
    () => client.call("list_messages", { address, folder, limit: 50 }),
    [client, address, folder, view.data],
  );
  const logins = useAsync(() => client.call("list_logins", { account: address, limit: 5 }), [client, address]);
  const [confirmClean, setConfirmClean] = useState(false);
  const clean = useAction();
  const [cleaned, setCleaned] = useState<string | null>(null);
  const m = view.data;

  return (
    <Dialog title={`Mailbox ${address}`} onClose={onClose} className="wide">
      <div className="dialog-body mailbox-view">
        {view.error && <PageError error={view.error} what="this mailbox" />}
        {m && (
          <>
            <div className={m.can_log_in ? "ok" : "notice"} role="note" data-testid="login-state">
              {m.can_log_in ? "Mail clients can log in" : "Mail clients cannot log in now"}
              {m.login_note ? `: ${m.login_note}.` : "."} User name: <code>{m.address}</code>. The password is never shown; set a
              new one on the account if the user lost it.
            </div>
            <h3 className="section-title">
              Recent logins{" "}
              <a className="small" href={loginsLink(m.address)} onClick={onClose}>
                All logins of this account →
              </a>
            </h3>
            {logins.error && <PageError error={logins.error} what="the recent logins" />}
            {logins.data && logins.data.items.length === 0 && <p className="empty">No login attempts yet.</p>}
            {logins.data && logins.data.items.length > 0 && (
              <table className="table" aria-label="Recent logins">
                <thead>
                  <tr>
                    <th scope="col">When (UTC)</th>
                    <th scope="col">Service</th>
                    <th scope="col">Client</th>
                    <th scope="col">Outcome</th>
                  </tr>
                </thead>
                <tbody>
                  {logins.data.items.map((r) => (
                    <tr key={r.id} data-reason={r.reason}>
                      <td>{when(r.at)}</td>
                      <td>{serviceLabel(r.service)}</td>
                      <td>
                        <code>{r.client}</code>
                      </td>
                      <td>{r.outcome === "accepted" ? `Accepted (${why(r)})` : `Refused: ${why(r)}`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <h3 className="section-title">Client settings</h3>
            {m.client_note && (
              <div className="notice" role="note" data-testid="client-note">
                {m.mail_server_running ? m.client_note : `Not running: ${m.client_note}.`}
              </div>
            )}
            {m.client.length > 0 && (
              <table className="table" aria-label="Client settings">
                <thead>
                  <tr>
                    <th scope="col">Protocol</th>
                    <th scope="col">Server</th>
                    <th scope="col">Port</th>
                    <th scope="col">Security</th>
                    <th scope="col">For this account</th>
                  </tr>
                </thead>
                <tbody>
                  {m.client.map((e) => (
                    <tr key={`${e.protocol}-${e.port}`} data-allowed={e.allowed}>
                      <th scope="row">{e.protocol.toUpperCase()}</th>
                      <td>
                        <code>{e.host}</code>
                      </td>
                      <td>{e.port}</td>
                      <td>{security(e)}</td>
                      <td>{e.allowed ? "On" : `Off: ${e.note ?? "switched off"}`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {m.mail_server_running && m.client.length > 0 && (
              <div className="autoconfig" data-testid="autoconfig">
                <p className="muted small">
                  Mail clients can set themselves up from these addresses (point <code>autoconfig.</code> and{" "}
                  <code>autodiscover.</code> of the domain at this server):
                </p>
                <ul className="small">
                  {autoconfigUrls(m.address).map((u) => (
                    <li key={u.label}>
                      {u.label}: <code>{u.url}</code>
                    </li>
                  ))}
                </ul>
                {mobileconfigLink(m.address, typeof window === "undefined" ? null : window.location.origin) && (
                  <a
                    className="button"
                    href={mobileconfigLink(m.address, window.location.origin) ?? undefined}
                    download={`${m.address}.mobileconfig`}
                  >
                    Download the iPhone/Mac profile
                  </a>
                )}
              </div>
            )}
            <h3 className="section-title">
              Folders{" "}
              <span className="muted small">
                {nf.format(m.messages)} messages, {formatBytes(m.used_bytes)} of {nf.format(m.quota_mb)} MiB
              </span>
            </h3>
            <table className="table" aria-label="Folders">
              <thead>
                <tr>
                  <th scope="col">Folder</th>
                  <th scope="col">Messages</th>
                  <th scope="col">Unread</th>
                  <th scope="col">Size</th>
                </tr>
              </thead>
              <tbody>
                {m.folders.map((f) => (
                  <tr key={f.name} data-folder={f.name} aria-selected={f.name === folder}>
                    <th scope="row">
                      <button type="button" className="link" onClick={() => setFolder(f.name)}>
                        {f.name}
                      </button>
                    </th>
                    <td>{nf.format(f.messages)}</td>
                    <td>{nf.format(f.unseen)}</td>
                    <td>{formatBytes(f.size_bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h3 className="section-title">{folder}</h3>
            {messages.error && <PageError error={messages.error} what="the messages" />}
            {messages.data && messages.data.items.length === 0 && <p className="empty">No messages.</p>}
            {messages.data && messages.data.items.length > 0 && (
              <table className="table" aria-label={`Messages in ${folder}`}>
                <thead>
                  <tr>
                    <th scope="col">Received</th>
                    <th scope="col">From</th>
                    <th scope="col">Subject</th>
                    <th scope="col">Size</th>
                  </tr>
                </thead>
                <tbody>
                  {messages.data.items.map((msg) => (
                    <tr key={msg.uid}>
                      <td>{msg.received_at.replace("T", " ").replace("Z", "")}</td>
                      <td>{msg.from}</td>
                      <td>{msg.subject || <span className="muted">(no subject)</span>}</td>
                      <td>{formatBytes(msg.size)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {cleaned && (
              <div className="ok" role="status">
                {cleaned}
              </div>
            )}
          </>
        )}
      </div>
      <div className="dialog-buttons">
        <button
          type="button"
          className="danger"
          disabled={readOnly || !m || m.messages === 0 || m.status === "deleted"}
          onClick={() => setConfirmClean(true)}
        >
          Clean mailbox…
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {confirmClean && m && (
        <Confirm
          title={`Clean ${address}?`}
          confirm={`Delete ${nf.format(m.messages)} messages`}
          error={clean.error}
          pending={clean.pending}
          onClose={() => setConfirmClean(false)}
          onConfirm={() =>
            void clean.run(() => client.call("clean_mailbox", { address, confirm: true })).then((r) => {
              if (!r) return;
              setConfirmClean(false);
              setCleaned(`Deleted ${nf.format(r.messages)} messages (${formatBytes(r.size_bytes)}).`);
              view.reload();
            })
          }
        >
          Every message in every folder of {address} ({nf.format(m.messages)} messages, {formatBytes(m.used_bytes)}) is deleted
          at once. This cannot be undone.
        </Confirm>
      )}
    </Dialog>
  );
}
