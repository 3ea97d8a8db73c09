import { useEffect, useState } from "react";
import type { BackendError } from "../api/errors";
import type { PortalApi } from "../api/portal";
import { portalPhone } from "../api/portalPhone";
import type { PortalPhone } from "../bindings/PortalPhone";
import type { PortalSession } from "../bindings/PortalSession";
import { Field, FormError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

/**
 * The portal's "Mobile phone" section: enter a number, get a code by SMS, enter the code and
 * the number is bound; remove it only where the administrator allows. `onBound` runs after a
 * bind or removal (the session's `must_bind_phone` may have changed).
 */
export function PhoneSection({
  api,
  session,
  onEnded,
  onBound,
}: {
  api: PortalApi;
  session: PortalSession;
  onEnded: (e: BackendError | null) => void;
  onBound: () => void;
}) {
  const stored = useAsync(() => portalPhone.get(api, session.csrf_token), [api, session.csrf_token]);
  useEffect(() => onEnded(stored.error), [stored.error, onEnded]);
  if (stored.error) return <FormError error={stored.error} />;
  if (!stored.data) return null;
  return <PhoneEditor api={api} session={session} initial={stored.data} onEnded={onEnded} onBound={onBound} />;
}

function PhoneEditor({
  api,
  session,
  initial,
  onEnded,
  onBound,
}: {
  api: PortalApi;
  session: PortalSession;
  initial: PortalPhone;
  onEnded: (e: BackendError | null) => void;
  onBound: () => void;
}) {
  const [phone, setPhone] = useState<PortalPhone>(initial);
  const [number, setNumber] = useState("");
  const [code, setCode] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();
  useEffect(() => onEnded(action.error), [action.error, onEnded]);
  const csrf = session.csrf_token;

  const send = async () => {
    setNotice(null);
    const p = await action.run(() => portalPhone.sendCode(api, csrf, number.trim()));
    if (!p) return;
    setPhone(p);
    setCode("");
    setNotice(`A code was sent to ${p.pending ?? "your phone"}. It is valid for 10 minutes.`);
  };
  const confirm = async () => {
    setNotice(null);
    const p = await action.run(() => portalPhone.confirm(api, csrf, code.trim()));
    if (!p) return;
    setPhone(p);
    setNumber("");
    setCode("");
    setNotice(`Your phone ${p.phone ?? ""} is bound.`);
    onBound();
  };
  const unbind = async () => {
    setNotice(null);
    const p = await action.run(() => portalPhone.unbind(api, csrf));
    if (!p) return;
    setPhone(p);
    setNotice("Your phone is removed.");
    onBound();
  };

  return (
    <div data-testid="portal-phone">
      <p className="muted" data-testid="portal-phone-state">
        {phone.phone ? (
          <>
            Bound phone: <strong>{phone.phone}</strong>
          </>
        ) : phone.required ? (
          "No phone is bound yet. Your administrator requires one."
        ) : (
          "No phone is bound."
        )}
      </p>
      {phone.phone && !phone.unbinding_allowed && (
        <p className="muted small">To remove or change this phone, ask your administrator.</p>
      )}
      {phone.phone && phone.unbinding_allowed && (
        <button type="button" disabled={action.pending} onClick={() => void unbind()}>
          Remove phone
        </button>
      )}
      {!phone.phone && (
        <form
          aria-label="Send code"
          onSubmit={(e) => {
            e.preventDefault();
            void send();
          }}
        >
          <Field label="Mobile number" name="phone" error={action.error} hint="International form: + and the country code, e.g. +41 79 123 45 67">
            {(p) => <input {...p} type="tel" autoComplete="tel" value={number} onChange={(e) => setNumber(e.target.value)} required />}
          </Field>
          <button type="submit" className={phone.pending ? undefined : "primary"} disabled={action.pending}>
            {phone.pending ? "Send a new code" : "Send code"}
          </button>
        </form>
      )}
      {!phone.phone && phone.pending && (
        <form
          aria-label="Confirm code"
          onSubmit={(e) => {
            e.preventDefault();
            void confirm();
          }}
        >
          <Field label={`Code sent to ${phone.pending}`} name="code" error={action.error}>
            {(p) => (
              <input {...p} inputMode="numeric" autoComplete="one-time-code" maxLength={6} value={code} onChange={(e) => setCode(e.target.value)} required />
            )}
          </Field>
          <button type="submit" className="primary" disabled={action.pending}>
            Confirm code
          </button>
        </form>
      )}
      <FormError error={action.error} fields={phone.phone ? [] : phone.pending ? ["phone", "code"] : ["phone"]} />
      {notice && !action.error && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
    </div>
  );
}

/** The screen while the administrator requires a phone and none is bound: nothing else opens until one is. */
export function PhoneRequired({
  api,
  session,
  onChanged,
  onEnded,
}: {
  api: PortalApi;
  session: PortalSession;
  onChanged: (s: PortalSession) => void;
  onEnded: (e: BackendError | null) => void;
}) {
  const refresh = useAction();
  useEffect(() => onEnded(refresh.error), [refresh.error, onEnded]);
  return (
    <>
      <h2>Bind your mobile phone</h2>
      <p className="muted">
        Your administrator requires a mobile phone for <strong>{session.address}</strong>. Enter your number, then the
        code we send to it by SMS.
      </p>
      <PhoneSection
        api={api}
        session={session}
        onEnded={onEnded}
        onBound={() =>
          void refresh.run(() => api.current()).then((s) => {
            if (s) onChanged(s);
          })
        }
      />
      <FormError error={refresh.error} />
    </>
  );
}
