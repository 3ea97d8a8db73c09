import type { SharedMailbox } from "../bindings/SharedMailbox";
import { sharedLink, stoppedNotice } from "../pages/sharedModel";

interface Props {
  stopped: SharedMailbox[];
  /** Picks the mailbox's domain in the header before its page opens. */
  setDomain: (d: string) => void;
}

/**
 * The app-wide notice of shared mailboxes whose fetching stopped after too many failures in a
 * row, on every page until the admin fixes them: each with its error, its time and a link to
 * the mailbox.
 */
export function StoppedFetching({ stopped, setDomain }: Props) {
  if (stopped.length === 0) return null;
  return (
    <div className="form-error stopped-fetching" role="alert" data-testid="stopped-fetching">
      <strong>
        Fetching stopped for {stopped.length === 1 ? "a shared mailbox" : `${stopped.length} shared mailboxes`}.
      </strong>
      <ul>
        {stopped.map((m) => (
          <li key={m.address} data-stopped={m.address}>
            {stoppedNotice(m)}{" "}
            <a href={sharedLink(m.address)} onClick={() => setDomain(m.domain)}>
              Open the shared mailbox {m.address}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}
