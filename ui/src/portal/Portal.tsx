import { useCallback, useEffect, useMemo, useState } from "react";
import { BackendError } from "../api/errors";
import { formatBytes } from "../api/files";
import { PortalApi } from "../api/portal";
import type { ClientEndpoint } from "../bindings/ClientEndpoint";
import type { PortalSecurityQuestions } from "../bindings/PortalSecurityQuestions";
import type { PortalSession } from "../bindings/PortalSession";
import type { RecoveryQuestions } from "../bindings/RecoveryQuestions";
import { Field, FormError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import type { AutoReply } from "../bindings/AutoReply";
import { autoReplyText, fromLocalInput, toLocalInput } from "./autoReply";
import { ForwardingForm } from "./Forwarding";
import { PhoneRequired, PhoneSection } from "./PhoneSection";

const nf = new Intl.NumberFormat();

function security(e: ClientEndpoint): string {
  return e.security === "tls" ? "TLS (SSL)" : "STARTTLS";
}

/**
 * The user self-service portal (`#/portal` of the same web UI): a mailbox user signs in with
 * address and password, sets a new password first when the administrator asked for one, then
 * security questions when the administrator requires them, then sees the mailbox's storage use
 * and the client settings of the services that run, and can change the password and the
 * questions. A forgotten password is recovered from the sign-in page with the answers. Its
 * session is its own cookie, apart from the admin console's.
 */
export function PortalApp() {
  const api = useMemo(() => new PortalApi(), []);
  const [session, setSession] = useState<PortalSession | null | undefined>(undefined);
  const [message, setMessage] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [recovering, setRecovering] = useState(false);

  useEffect(() => {
    let live = true;
    api.current().then(
      (s) => live && setSession(s),
      (e: unknown) => {
        if (!live) return;
        setSession(null);
        setMessage(e instanceof Error ? e.message : String(e));
      },
    );
    return () => {
      live = false;
    };
  }, [api]);

  // A session that ended mid-way (idle, signed out elsewhere): back to the sign-in, saying why.
  const ended = useCallback((e: BackendError | null) => {
    if (e?.code === "unauthenticated") {
      setSession(null);
      setMessage(e.message);
    }
  }, []);

  if (session === undefined) return <main className="login" aria-busy="true" />;
  return (
    <main className="login portal">
      <div className="login-card">
        <h1>Postdesk</h1>
        {session === null ? (
          recovering ? (
            <RecoveryForm
              api={api}
              onCancel={() => setRecovering(false)}
              onDone={(text) => (setRecovering(false), setMessage(null), setNotice(text))}
            />
          ) : (
            <SignInForm
              api={api}
              message={message}
              notice={notice}
              onForgot={() => (setNotice(null), setRecovering(true))}
              onSession={(s) => (setMessage(null), setNotice(null), setSession(s))}
            />
          )
        ) : session.must_change_password ? (
          <>
            <h2>Set a new password</h2>
            <p className="muted">
              Your administrator asked you to choose a new password for <strong>{session.address}</strong> before
              you read mail. Your mail apps will use the new one.
            </p>
            <PasswordForm api={api} session={session} onChanged={setSession} onEnded={ended} submitLabel="Set new password" />
          </>
        ) : session.must_set_security_questions ? (
          <>
            <h2>Set your security questions</h2>
            <p className="muted">
              Your administrator asks you to set three security questions for <strong>{session.address}</strong>.
              If you forget your password, answering them lets you choose a new one.
            </p>
            <SecurityQuestionsEditor
              api={api}
              session={session}
              initial={[]}
              onEnded={ended}
              onSaved={() => setSession({ ...session, must_set_security_questions: false })}
            />
          </>
        ) : session.must_bind_phone ? (
          <PhoneRequired api={api} session={session} onChanged={setSession} onEnded={ended} />
        ) : (
          <Home api={api} session={session} onChanged={setSession} onEnded={ended} onSignedOut={() => setSession(null)} />
        )}
      </div>
    </main>
  );
}

function SignInForm({
  api,
  message,
  notice,
  onForgot,
  onSession,
}: {
  api: PortalApi;
  message: string | null;
  notice: string | null;
  onForgot: () => void;
  onSession: (s: PortalSession) => void;
}) {
  const [address, setAddress] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = async () => {
    const s = await action.run(() => api.signIn(address.trim(), password));
    setPassword("");
    if (s) onSession(s);
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <p className="muted">Sign in to your mailbox's self-service portal.</p>
      {notice && !action.error && (
        <p className="notice" role="status" data-testid="portal-notice">
          {notice}
        </p>
      )}
      {message && !action.error && (
        <div className="form-error" role="alert">
          {message}
        </div>
      )}
      <Field label="Email address" name="address" error={action.error}>
        {(p) => (
          <input {...p} type="email" autoComplete="username" spellCheck={false} autoFocus value={address} onChange={(e) => setAddress(e.target.value)} required />
        )}
      </Field>
      <Field label="Password" name="password" error={action.error}>
        {(p) => (
          <input {...p} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        )}
      </Field>
      <FormError error={action.error} fields={["address", "password"]} />
      <button type="submit" className="primary" disabled={action.pending}>
        {action.pending ? "Signing in…" : "Sign in"}
      </button>
      <p>
        <button type="button" className="link" onClick={onForgot}>
          Forgot your password?
        </button>
      </p>
    </form>
  );
}

/**
 * A forgotten password recovered without a session: the address, then its three security
 * questions with a new password. Any wrong answer gets one answer from the server.
 */
function RecoveryForm({
  api,
  onCancel,
  onDone,
}: {
  api: PortalApi;
  onCancel: () => void;
  onDone: (notice: string) => void;
}) {
  const [address, setAddress] = useState("");
  const [asked, setAsked] = useState<RecoveryQuestions | null>(null);
  const [answers, setAnswers] = useState(["", "", ""]);
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const action = useAction();
  const mismatch = repeat !== "" && next !== repeat;
  const ask = async () => {
    const q = await action.run(() => api.recoveryQuestions(address.trim()));
    if (q) setAsked(q);
  };
  const recover = async () => {
    if (!asked || next !== repeat) return;
    const done = await action.run(async () => {
      await api.recover({ address: asked.address, answers, new_password: next });
      return true;
    });
    if (done) onDone("Your new password is set. Sign in with it, and use it in your mail apps.");
  };
  if (!asked) {
    return (
      <form
        aria-label="Recover your password"
        onSubmit={(e) => {
          e.preventDefault();
          void ask();
        }}
      >
        <h2>Forgot your password?</h2>
        <p className="muted">Answer your security questions to choose a new password.</p>
        <Field label="Email address" name="address" error={action.error}>
          {(p) => (
            <input {...p} type="email" autoComplete="username" spellCheck={false} autoFocus value={address} onChange={(e) => setAddress(e.target.value)} required />
          )}
        </Field>
        <FormError error={action.error} fields={["address"]} />
        <button type="submit" className="primary" disabled={action.pending}>
          {action.pending ? "Looking up…" : "Continue"}
        </button>{" "}
        <button type="button" className="link" onClick={onCancel}>
          Back to sign-in
        </button>
      </form>
    );
  }
  return (
    <form
      aria-label="Recover your password"
      onSubmit={(e) => {
        e.preventDefault();
        void recover();
      }}
    >
      <h2>Forgot your password?</h2>
      <p className="muted">
        Answer the security questions of <strong>{asked.address}</strong>. Upper and lower case and extra spaces do not
        matter.
      </p>
      {asked.questions.map((question, i) => (
        <Field key={i} label={question} name={`answer_${i + 1}`} error={action.error}>
          {(p) => (
            <input
              {...p}
              autoComplete="off"
              spellCheck={false}
              value={answers[i]}
              onChange={(e) => setAnswers(answers.map((a, j) => (j === i ? e.target.value : a)))}
              required
            />
          )}
        </Field>
      ))}
      <Field
        label="New password"
        name="new_password"
        error={action.error}
        hint="At least 8 characters with two of: lower-case, upper-case, digits, symbols."
      >
        {(p) => <input {...p} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />}
      </Field>
      <div className={mismatch ? "field field-invalid" : "field"}>
        <label htmlFor="portal-recovery-repeat">Repeat the new password</label>
        <input
          id="portal-recovery-repeat"
          type="password"
          autoComplete="new-password"
          value={repeat}
          aria-invalid={mismatch}
          aria-describedby={mismatch ? "portal-recovery-repeat-error" : undefined}
          onChange={(e) => setRepeat(e.target.value)}
          required
        />
        {mismatch && (
          <div className="field-error" id="portal-recovery-repeat-error" role="alert">
            The two new passwords differ.
          </div>
        )}
      </div>
      <FormError error={action.error} fields={["answer_1", "answer_2", "answer_3", "new_password"]} />
      <button type="submit" className="primary" disabled={action.pending || mismatch}>
        {action.pending ? "Checking…" : "Set new password"}
      </button>{" "}
      <button type="button" className="link" onClick={onCancel}>
        Back to sign-in
      </button>
    </form>
  );
}

function PasswordForm({
  api,
  session,
  onChanged,
  onEnded,
  submitLabel,
}: {
  api: PortalApi;
  session: PortalSession;
  onChanged: (s: PortalSession) => void;
  onEnded: (e: BackendError | null) => void;
  submitLabel: string;
}) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [done, setDone] = useState(false);
  const action = useAction();
  const mismatch = repeat !== "" && next !== repeat;
  const submit = async () => {
    setDone(false);
    if (next !== repeat) return;
    const s = await action.run(() =>
      api.changePassword(session.csrf_token, { current_password: current, new_password: next }),
    );
    if (!s) return;
    setCurrent("");
    setNext("");
    setRepeat("");
    setDone(true);
    onChanged(s);
  };
  useEffect(() => onEnded(action.error), [action.error, onEnded]);
  return (
    <form
      aria-label="Change password"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <Field label="Current password" name="current_password" error={action.error}>
        {(p) => (
          <input {...p} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
        )}
      </Field>
      <Field
        label="New password"
        name="new_password"
        error={action.error}
        hint="At least 8 characters with two of: lower-case, upper-case, digits, symbols."
      >
        {(p) => <input {...p} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />}
      </Field>
      <div className={mismatch ? "field field-invalid" : "field"}>
        <label htmlFor="portal-repeat">Repeat the new password</label>
        <input
          id="portal-repeat"
          type="password"
          autoComplete="new-password"
          value={repeat}
          aria-invalid={mismatch}
          aria-describedby={mismatch ? "portal-repeat-error" : undefined}
          onChange={(e) => setRepeat(e.target.value)}
          required
        />
        {mismatch && (
          <div className="field-error" id="portal-repeat-error" role="alert">
            The two new passwords differ.
          </div>
        )}
      </div>
      <FormError error={action.error} fields={["current_password", "new_password"]} />
      {done && (
        <p className="notice" role="status">
          Your password is changed. Use the new one in your mail apps.
        </p>
      )}
      <button type="submit" className="primary" disabled={action.pending || mismatch}>
        {action.pending ? "Saving…" : submitLabel}
      </button>
    </form>
  );
}

function Home({
  api,
  session,
  onChanged,
  onEnded,
  onSignedOut,
}: {
  api: PortalApi;
  session: PortalSession;
  onChanged: (s: PortalSession) => void;
  onEnded: (e: BackendError | null) => void;
  onSignedOut: () => void;
}) {
  const account = useAsync(() => api.account(session.csrf_token), [api, session.csrf_token]);
  const signOut = useAction();
  useEffect(() => onEnded(account.error), [account.error, onEnded]);
  const a = account.data;
  return (
    <div className="portal-home">
      <p>
        Signed in as <strong data-testid="portal-address">{session.address}</strong>{" "}
        <button
          type="button"
          className="link"
          disabled={signOut.pending}
          onClick={() => void signOut.run(() => api.signOut(session.csrf_token)).then(() => onSignedOut())}
        >
          Sign out
        </button>
      </p>
      <FormError error={account.error} />
      {a && (
        <>
          <section aria-labelledby="portal-storage">
            <h2 id="portal-storage">Storage</h2>
            <p data-testid="portal-usage">
              {nf.format(a.messages)} messages, {formatBytes(a.used_bytes)} used
              {a.quota_mb > 0 ? ` of ${nf.format(a.quota_mb)} MiB` : " (no quota)"}
            </p>
          </section>
          <section aria-labelledby="portal-clients">
            <h2 id="portal-clients">Mail app settings</h2>
            {a.client_note && (
              <div className="notice" role="note" data-testid="portal-client-note">
                {a.client_note}
              </div>
            )}
            {a.client.length > 0 && (
              <table className="table" aria-label="Mail app settings">
                <thead>
                  <tr>
                    <th scope="col">Protocol</th>
                    <th scope="col">Server</th>
                    <th scope="col">Port</th>
                    <th scope="col">Security</th>
                    <th scope="col">For you</th>
                  </tr>
                </thead>
                <tbody>
                  {a.client.map((e) => (
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
            <p className="muted small">User name: your email address, {a.address}.</p>
          </section>
          {(a.shared_mailboxes ?? []).length > 0 && (
            <section aria-labelledby="portal-shared">
              <h2 id="portal-shared">Shared mailboxes</h2>
              <p className="muted small">
                You may send as these addresses. Your organisation&apos;s default sender and each mailbox&apos;s
                template (font and size) are shown for you to set in your mail app; Postdesk does not apply them.
              </p>
              <ul className="plain" data-testid="portal-shared">
                {a.shared_mailboxes.map((m) => (
                  <li key={m.address} data-shared={m.address}>
                    <strong>{m.address}</strong> ({m.name}){m.is_default ? " — your default sender" : ""}
                    {m.template.font || m.template.size_pt !== undefined
                      ? `; template: ${[m.template.font, m.template.size_pt === undefined ? undefined : `${m.template.size_pt} pt`]
                          .filter((x): x is string => !!x)
                          .join(", ")}`
                      : ""}
                  </li>
                ))}
              </ul>
            </section>
          )}
        </>
      )}
      {a && (
        <section aria-labelledby="portal-auto-reply">
          <h2 id="portal-auto-reply">Automatic reply</h2>
          <AutoReplyForm api={api} session={session} onEnded={onEnded} />
        </section>
      )}
      {a && (
        <section aria-labelledby="portal-forwarding">
          <h2 id="portal-forwarding">Forwarding</h2>
          <ForwardingForm api={api} session={session} onEnded={onEnded} />
        </section>
      )}
      {a && (
        <section aria-labelledby="portal-phone">
          <h2 id="portal-phone">Mobile phone</h2>
          <PhoneSection
            api={api}
            session={session}
            onEnded={onEnded}
            onBound={() =>
              void api.current().then(
                (s) => s && onChanged(s),
                () => undefined,
              )
            }
          />
        </section>
      )}
      <section aria-labelledby="portal-password">
        <h2 id="portal-password">Change password</h2>
        <PasswordForm api={api} session={session} onChanged={onChanged} onEnded={onEnded} submitLabel="Change password" />
      </section>
      <section aria-labelledby="portal-questions">
        <h2 id="portal-questions">Security questions</h2>
        <SecurityQuestionsSection api={api} session={session} onEnded={onEnded} />
      </section>
    </div>
  );
}

function SecurityQuestionsSection({
  api,
  session,
  onEnded,
}: {
  api: PortalApi;
  session: PortalSession;
  onEnded: (e: BackendError | null) => void;
}) {
  const stored = useAsync(() => api.securityQuestions(session.csrf_token), [api, session.csrf_token]);
  const [saved, setSaved] = useState<PortalSecurityQuestions | null>(null);
  useEffect(() => onEnded(stored.error), [stored.error, onEnded]);
  if (stored.error) return <FormError error={stored.error} />;
  if (!stored.data) return null;
  const current = saved ?? stored.data;
  return (
    <>
      <p className="muted" data-testid="portal-questions-state">
        {current.questions.length > 0
          ? "Your security questions are set: answering them lets you choose a new password if you forget yours. Set them again to replace them."
          : "No security questions are set: without them a forgotten password needs your administrator."}
      </p>
      <SecurityQuestionsEditor api={api} session={session} initial={current.questions} onEnded={onEnded} onSaved={setSaved} />
    </>
  );
}

/** Three security questions with their answers (the answers are never shown again). */
function SecurityQuestionsEditor({
  api,
  session,
  initial,
  onEnded,
  onSaved,
}: {
  api: PortalApi;
  session: PortalSession;
  initial: string[];
  onEnded: (e: BackendError | null) => void;
  onSaved: (q: PortalSecurityQuestions) => void;
}) {
  const [questions, setQuestions] = useState([0, 1, 2].map((i) => initial[i] ?? ""));
  const [answers, setAnswers] = useState(["", "", ""]);
  const [current, setCurrent] = useState("");
  const [done, setDone] = useState(false);
  const action = useAction();
  useEffect(() => onEnded(action.error), [action.error, onEnded]);
  const submit = async () => {
    setDone(false);
    const r = await action.run(() =>
      api.setSecurityQuestions(session.csrf_token, {
        current_password: current,
        questions: questions.map((question, i) => ({ question, answer: answers[i] })),
      }),
    );
    if (!r) return;
    setAnswers(["", "", ""]);
    setCurrent("");
    setDone(true);
    onSaved(r);
  };
  const fields = ["questions", "current_password", ...[1, 2, 3].flatMap((n) => [`question_${n}`, `answer_${n}`])];
  return (
    <form
      aria-label="Security questions"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {[0, 1, 2].map((i) => (
        <fieldset key={i} className="portal-question">
          <legend>Security question {i + 1}</legend>
          <Field label={`Question ${i + 1}`} name={`question_${i + 1}`} error={action.error} hint={i === 0 ? "In your own words, 3 to 200 characters; three different questions." : undefined}>
            {(p) => (
              <input {...p} value={questions[i]} maxLength={200} onChange={(e) => setQuestions(questions.map((q, j) => (j === i ? e.target.value : q)))} required />
            )}
          </Field>
          <Field label={`Answer ${i + 1}`} name={`answer_${i + 1}`} error={action.error} hint={i === 0 ? "2 to 100 characters; upper and lower case and extra spaces do not matter." : undefined}>
            {(p) => (
              <input {...p} autoComplete="off" spellCheck={false} value={answers[i]} onChange={(e) => setAnswers(answers.map((a, j) => (j === i ? e.target.value : a)))} required />
            )}
          </Field>
        </fieldset>
      ))}
      <Field label="Your password" name="current_password" error={action.error} hint="To confirm it is you.">
        {(p) => (
          <input {...p} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
        )}
      </Field>
      <FormError error={action.error} fields={fields} />
      {done && (
        <p className="notice" role="status">
          Your security questions are saved.
        </p>
      )}
      <button type="submit" className="primary" disabled={action.pending}>
        {action.pending ? "Saving…" : "Save security questions"}
      </button>
    </form>
  );
}

function AutoReplyForm({
  api,
  session,
  onEnded,
}: {
  api: PortalApi;
  session: PortalSession;
  onEnded: (e: BackendError | null) => void;
}) {
  const stored = useAsync(() => api.autoReply(session.csrf_token), [api, session.csrf_token]);
  useEffect(() => onEnded(stored.error), [stored.error, onEnded]);
  if (stored.error) return <FormError error={stored.error} />;
  if (!stored.data) return null;
  return <AutoReplyEditor api={api} session={session} initial={stored.data} onEnded={onEnded} />;
}

function AutoReplyEditor({
  api,
  session,
  initial,
  onEnded,
}: {
  api: PortalApi;
  session: PortalSession;
  initial: AutoReply;
  onEnded: (e: BackendError | null) => void;
}) {
  const [v, setV] = useState({
    enabled: initial.enabled,
    from: toLocalInput(initial.starts_at),
    until: toLocalInput(initial.ends_at),
    subject: initial.subject,
    text: initial.text,
  });
  const [saved, setSaved] = useState<AutoReply>(initial);
  const action = useAction();
  useEffect(() => onEnded(action.error), [action.error, onEnded]);
  const submit = async () => {
    const r = await action.run(() =>
      api.setAutoReply(session.csrf_token, {
        enabled: v.enabled,
        starts_at: fromLocalInput(v.from),
        ends_at: fromLocalInput(v.until),
        subject: v.subject,
        text: v.text,
      }),
    );
    if (r) setSaved(r);
  };
  return (
    <form
      aria-label="Automatic reply"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <p className="muted" role="status" data-testid="portal-auto-reply-state">
        {autoReplyText(saved)}
      </p>
      <div className="field">
        <label>
          <input type="checkbox" checked={v.enabled} onChange={(e) => setV({ ...v, enabled: e.target.checked })} />{" "}
          Answer mail automatically
        </label>
      </div>
      <Field label="From (UTC)" name="starts_at" error={action.error} hint="Empty: from now on">
        {(p) => <input {...p} type="datetime-local" value={v.from} onChange={(e) => setV({ ...v, from: e.target.value })} />}
      </Field>
      <Field label="Until (UTC)" name="ends_at" error={action.error} hint="Empty: until you turn it off">
        {(p) => <input {...p} type="datetime-local" value={v.until} onChange={(e) => setV({ ...v, until: e.target.value })} />}
      </Field>
      <Field label="Subject" name="subject" error={action.error}>
        {(p) => <input {...p} value={v.subject} onChange={(e) => setV({ ...v, subject: e.target.value })} />}
      </Field>
      <Field label="Text" name="text" error={action.error}>
        {(p) => <textarea {...p} rows={4} value={v.text} onChange={(e) => setV({ ...v, text: e.target.value })} />}
      </Field>
      <FormError error={action.error} fields={["starts_at", "ends_at", "subject", "text"]} />
      <button type="submit" className="primary" disabled={action.pending}>
        {action.pending ? "Saving…" : "Save automatic reply"}
      </button>
    </form>
  );
}
