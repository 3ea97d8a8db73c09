import { useSession } from "../app/session";
import { FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

/**
 * The account's bound mobile phone (account dialog): masked but for its last three digits,
 * bound in the user portal with a code by SMS; an admin can clear it so the user binds one again.
 */
export function AccountPhonePanel({ address, disabled }: { address: string; disabled: boolean }) {
  const { client, readOnly } = useSession();
  const phone = useAsync(() => client.call("get_account_phone", { address }), [client, address]);
  const clear = useAction();
  const p = phone.data;
  return (
    <div className="panel" role="region" aria-label="Mobile phone">
      <h3>Mobile phone</h3>
      {phone.error && <PageError error={phone.error} what="the bound phone" />}
      {p && (
        <p className="muted small" data-testid="account-phone">
          {p.phone ? `Bound: ${p.phone}${p.bound_at ? ` (since ${p.bound_at.replace("T", " ").replace("Z", " UTC")})` : ""}` : "No phone bound."}
        </p>
      )}
      {p?.phone && (
        <button
          type="button"
          disabled={disabled || readOnly || clear.pending}
          onClick={() =>
            void clear.run(() => client.call("clear_account_phone", { address })).then((done) => done !== undefined && phone.reload())
          }
        >
          Clear phone
        </button>
      )}
      <FormError error={clear.error} />
    </div>
  );
}
