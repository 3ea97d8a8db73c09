import { useState } from "react";
import type { Client } from "../api/client";
import { BackendError } from "../api/errors";
import { Field, FormError } from "../components/forms";
import { useAction } from "../components/hooks";

export const TOKEN_KEY = "postdesk.token";

export function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Sign-in with an API token; it is kept in sessionStorage for this tab only. */
export function Login({
  client,
  message,
  onLogin,
}: {
  client: Client;
  message: string | null;
  onLogin: (token: string) => void;
}) {
  const [token, setToken] = useState("");
  const action = useAction();
  const submit = async () => {
    const t = token.trim();
    if (!t) {
      action.setError(new BackendError("validation", "Enter an API token.", "token"));
      return;
    }
    // Try the token before keeping it: whoami with it as the session's token.
    const previous = readToken();
    sessionStorage.setItem(TOKEN_KEY, t);
    const me = await action.run(() => client.call("whoami", {}));
    if (me) onLogin(t);
    else if (previous) sessionStorage.setItem(TOKEN_KEY, previous);
    else sessionStorage.removeItem(TOKEN_KEY);
  };
  const err = action.error?.code === "unauthenticated" ? new BackendError("unauthenticated", action.error.message, "token") : action.error;
  return (
    <main className="login">
      <form
        className="login-card"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <h1>Postdesk</h1>
        <p className="muted">Sign in to the admin API of {window.location.host || "this server"} with an API token.</p>
        {message && !action.error && (
          <div className="form-error" role="alert">
            {message}
          </div>
        )}
        <Field label="API token" name="token" error={err} hint="Starts with pd_. Created by the owner; shown once.">
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="off"
              spellCheck={false}
              autoFocus
              value={token}
              onChange={(e) => setToken(e.target.value)}
            />
          )}
        </Field>
        <FormError error={err} fields={["token"]} />
        <button type="submit" className="primary" disabled={action.pending}>
          {action.pending ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
