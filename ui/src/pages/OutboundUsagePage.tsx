import { useSession } from "../app/session";
import { PageError } from "../components/forms";
import { useAsync } from "../components/hooks";
import { listAll } from "../api/client";
import { limitText, megabytes, stateText } from "./mailRules";

/** What each account sent to other domains today and in the last 30 days, against its daily send quota. */
export function OutboundUsagePage() {
  const { client, domain } = useSession();
  const list = useAsync(() => listAll(client, "list_outbound_usage", { domain: domain! }), [client, domain]);
  const rows = list.data ?? [];
  const attention = rows.filter((u) => u.state === "near" || u.state === "over");
  return (
    <section className="usage-page">
      <p className="muted">
        The daily limits are batch settings (domain default, department, account): messages and megabytes a day to other domains.
        A user past either limit is refused at SMTP until the domain&apos;s next day.
      </p>
      {list.error ? (
        <PageError error={list.error} what="the outbound usage" />
      ) : (
        <>
          <p role="status">
            {attention.length === 0 ? "Nobody is near or over a daily limit." : `${attention.length} near or over a daily limit.`}
          </p>
          <table className="table" aria-label="Outbound usage">
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Today</th>
                <th scope="col">Last 30 days</th>
                <th scope="col">Daily limit</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((u) => (
                <tr key={u.address}>
                  <th scope="row">{u.address}</th>
                  <td>
                    {u.today_messages} messages, {megabytes(u.today_bytes)}
                  </td>
                  <td>
                    {u.month_messages} messages, {megabytes(u.month_bytes)}
                  </td>
                  <td>{limitText(u.limit_messages, u.limit_mb)}</td>
                  <td>{stateText(u.state)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
