import { useSession } from "../app/session";
import { FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { forwardingText } from "../portal/forwarding";

/**
 * The user's own forwarding (account dialog): set by the user in the portal, shown here with
 * whether the account's auto-forward setting lets it run; an admin can end it.
 */
export function AccountForwardingPanel({ address, disabled }: { address: string; disabled: boolean }) {
  const { client, readOnly } = useSession();
  const forwarding = useAsync(() => client.call("get_account_forwarding", { address }), [client, address]);
  const clear = useAction();
  const f = forwarding.data;
  return (
    <div className="panel" role="region" aria-label="Forwarding">
      <h3>Forwarding</h3>
      {forwarding.error && <PageError error={forwarding.error} what="the forwarding" />}
      {f && (
        <p className="muted small" data-testid="account-forwarding">
          {forwardingText(f)}
        </p>
      )}
      {f && f.targets.length > 0 && (
        <button
          type="button"
          disabled={disabled || readOnly || clear.pending}
          onClick={() =>
            void clear
              .run(() => client.call("clear_account_forwarding", { address }))
              .then((done) => done !== undefined && forwarding.reload())
          }
        >
          End forwarding
        </button>
      )}
      <FormError error={clear.error} />
    </div>
  );
}
