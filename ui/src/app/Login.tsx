import { useState } from "react";
import type { Client } from "../api/client";
import { BackendError } from "../api/errors";
import type { SessionApi } from "../api/session";
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

type Mode = { kind: "password" } | { kind: "code"; ticket: string } | { kind: "token" };

/**
 * Sign-in: name and password, then the authenticator's code (or a recovery code) when the
 * admin has a second factor; the session is an HttpOnly cookie the server keeps. An API token
 * can be used instead (kept in sessionStorage for this tab only), e.g. the owner's first-start
 * token before any password is set.
 */
export function Login({
  client,
  sessions,
  message,
  onToken,
  onSession,
}: {
  client: Client;
  sessions: SessionApi;
  message: string | null;
  onToken: (token: string) => void;
  onSession: (csrf: string) => void;
}) {
  const [mode, setMode] = useState<Mode>({ kind: "password" });
  const host = window.location.host || "this server";
  return (
    <main className="login">
      <div className="login-card">
        <h1>Postdesk</h1>
        {mode.kind === "token" ? (
          <TokenForm client={client} host={host} message={message} onToken={onToken} />
        ) : mode.kind === "password" ? (
          <PasswordForm
            sessions={sessions}
            host={host}
            message={message}
            onSession={onSession}
            onTicket={(ticket) => setMode({ kind: "code", ticket })}
          />
        ) : (
          <CodeForm
            sessions={sessions}
            ticket={mode.ticket}
            onSession={onSession}
            onRestart={() => setMode({ kind: "password" })}
          />
        )}
        <p className="login-switch">
          {mode.kind === "token" ? (
            <button type="button" className="link" onClick={() => setMode({ kind: "password" })}>
              Use name and password instead
            </button>
          ) : (
            <button type="button" className="link" onClick={() => setMode({ kind: "token" })}>
              Use an API token instead
            </button>
          )}
        </p>
      </div>
    </main>
  );
}

function Notice({ message }: { message: string | null }) {
  return message ? (
    <div className="form-error" role="alert">
      {message}
    </div>
  ) : null;
}

function PasswordForm({
  sessions,
  host,
  message,
  onSession,
  onTicket,
}: {
  sessions: SessionApi;
  host: string;
  message: string | null;
  onSession: (csrf: string) => void;
  onTicket: (ticket: string) => void;
}) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = async () => {
    const answer = await action.run(() => sessions.signIn(name.trim(), password));
    if (!answer) return;
    setPassword("");
    if (answer.step === "signed_in") onSession(answer.csrf_token);
    else onTicket(answer.ticket);
  };
  // A refusal names no field: which of the two was wrong is not told.
  const err = action.error;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <p className="muted">Sign in to the admin console of {host}.</p>
      {!err && <Notice message={message} />}
      <Field label="Admin name" name="name" error={null}>
        {(p) => (
          <input {...p} autoComplete="username" spellCheck={false} autoFocus value={name} onChange={(e) => setName(e.target.value)} required />
        )}
      </Field>
      <Field label="Password" name="password" error={null}>
        {(p) => (
          <input {...p} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        )}
      </Field>
      <FormError error={err} />
      <button type="submit" className="primary" disabled={action.pending}>
        {action.pending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}

function CodeForm({
  sessions,
  ticket,
  onSession,
  onRestart,
}: {
  sessions: SessionApi;
  ticket: string;
  onSession: (csrf: string) => void;
  onRestart: () => void;
}) {
  const [code, setCode] = useState("");
  const action = useAction();
  const submit = async () => {
    const answer = await action.run(() => sessions.secondFactor(ticket, code.trim()));
    if (answer?.step === "signed_in") onSession(answer.csrf_token);
  };
  const expired = action.error?.code === "unauthenticated" && action.error.field !== "code";
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <p className="muted">Enter the 6-digit code of your authenticator app, or one of your recovery codes.</p>
      <Field
        label="Code"
        name="code"
        error={action.error}
        hint="A recovery code works once; the code of the app changes every 30 seconds."
      >
        {(p) => (
          <input
            {...p}
            autoComplete="one-time-code"
            spellCheck={false}
            autoFocus
            value={code}
            onChange={(e) => setCode(e.target.value)}
            required
          />
        )}
      </Field>
      <FormError error={action.error} fields={["code"]} />
      {expired ? (
        <button type="button" className="primary" onClick={onRestart}>
          Start again
        </button>
      ) : (
        <button type="submit" className="primary" disabled={action.pending}>
          {action.pending ? "Checking…" : "Verify"}
        </button>
      )}
    </form>
  );
}

function TokenForm({
  client,
  host,
  message,
  onToken,
}: {
  client: Client;
  host: string;
  message: string | null;
  onToken: (token: string) => void;
}) {
  const [token, setToken] = useState("");
  const action = useAction();
  const submit = async () => {
    const t = token.trim();
    if (!t) {
      action.setError(new BackendError("validation", "Enter an API token.", "token"));
      return;
    }
    // Try the token before keeping it: whoami with it as the tab's token.
    const previous = readToken();
    sessionStorage.setItem(TOKEN_KEY, t);
    const me = await action.run(() => client.call("whoami", {}));
    if (me) onToken(t);
    else if (previous) sessionStorage.setItem(TOKEN_KEY, previous);
    else sessionStorage.removeItem(TOKEN_KEY);
  };
  const err = action.error?.code === "unauthenticated" ? new BackendError("unauthenticated", action.error.message, "token") : action.error;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <p className="muted">Sign in to the admin API of {host} with an API token.</p>
      {!action.error && <Notice message={message} />}
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
  );
}
