import { useCallback, useEffect, useMemo, useState } from "react";
import { createClient, type Client } from "../api/client";
import { BackendError } from "../api/errors";
import { HttpTransport } from "../api/http";
import { isPortalRoute } from "../api/portal";
import { SessionApi } from "../api/session";
import { Desktop, TauriTransport, inTauri } from "../api/tauri";
import type { BackendInfo } from "../bindings-desktop/BackendInfo";
import { useAsync } from "../components/hooks";
import { PortalApp } from "../portal/Portal";
import { BackendView } from "./BackendView";
import { Login, TOKEN_KEY, readToken } from "./Login";
import { Sidebar } from "./Sidebar";

export function App() {
  if (inTauri()) return <DesktopApp />;
  // The user self-service portal is the same page at #/portal, for mailbox users.
  return isPortalRoute(window.location.hash) ? <PortalApp /> : <WebApp />;
}

/** The tab's current sign-in, read by the transport at each call. */
class AuthBox {
  private auth: Auth | null | undefined;

  constructor(auth: Auth | null | undefined) {
    this.auth = auth;
  }

  get(): Auth | null | undefined {
    return this.auth;
  }

  set(auth: Auth | null): void {
    this.auth = auth;
  }

  /** The token of this tab, or the one the sign-in page is trying. */
  token(): string | null {
    if (this.auth?.kind === "token") return this.auth.token;
    return this.auth ? null : readToken();
  }

  csrf(): string | null {
    return this.auth?.kind === "session" ? this.auth.csrf : null;
  }
}

/** How this tab is signed in: a web UI session (cookie + anti-CSRF token) or an API token. */
type Auth = { kind: "session"; csrf: string } | { kind: "token"; token: string };

/**
 * In a browser: the one backend that serves this page, signed in with a name, password and
 * second factor (a server-side session), or with an API token pasted for this tab.
 */
function WebApp() {
  const sessions = useMemo(() => new SessionApi(), []);
  const [initial] = useState<Auth | undefined>(() => {
    const token = readToken();
    return token ? { kind: "token", token } : undefined;
  });
  const [auth, setAuthState] = useState<Auth | null | undefined>(initial);
  // The transport reads the current sign-in at each call.
  const [box] = useState(() => new AuthBox(initial));
  const setAuth = useCallback(
    (a: Auth | null) => {
      box.set(a);
      setAuthState(a);
    },
    [box],
  );
  const [loginMessage, setLoginMessage] = useState<string | null>(null);
  const [status, setStatus] = useState<BackendInfo["status"]>("online");

  // A reloaded page: is this browser still signed in?
  useEffect(() => {
    if (auth !== undefined) return;
    let live = true;
    sessions.current().then(
      (s) => live && setAuth(s ? { kind: "session", csrf: s.csrf_token } : null),
      (e: unknown) => {
        if (!live) return;
        setLoginMessage(e instanceof Error ? e.message : String(e));
        setAuth(null);
      },
    );
    return () => {
      live = false;
    };
  }, [auth, sessions, setAuth]);

  const signOut = useCallback(
    (message: string | null) => {
      const current = box.get();
      sessionStorage.removeItem(TOKEN_KEY);
      if (current?.kind === "session" && message === null) void sessions.signOut(current.csrf).catch(() => undefined);
      setAuth(null);
      setLoginMessage(message);
    },
    [sessions, setAuth, box],
  );
  const client = useMemo(() => {
    const http = new HttpTransport("", () => box.token(), undefined, () => box.csrf());
    // A token revoked or a session ended mid-way: back to the sign-in, saying why.
    return createClient({
      call: (name, params) =>
        http.call(name, params).catch((e: unknown) => {
          if (e instanceof BackendError && e.code === "unauthenticated" && box.get()) signOut(e.message);
          throw e;
        }),
    });
  }, [signOut, box]);
  const onCallerError = useCallback(
    (e: BackendError) => {
      if (e.code === "unauthenticated") signOut(e.message);
      else setStatus(e.code === "unavailable" ? "unreachable" : "online");
    },
    [signOut],
  );

  const onCallerOk = useCallback(() => setStatus("online"), []);

  if (auth === undefined) {
    return (
      <main className="login">
        <p className="empty">Checking the sign-in…</p>
      </main>
    );
  }
  if (auth === null) {
    return (
      <Login
        client={client}
        sessions={sessions}
        message={loginMessage}
        onToken={(t) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          setStatus("online");
          setAuth({ kind: "token", token: t });
        }}
        onSession={(csrf) => {
          setStatus("online");
          setAuth({ kind: "session", csrf });
        }}
      />
    );
  }
  const backend: BackendInfo = {
    id: "web",
    name: window.location.host || "This server",
    kind: "remote",
    url: window.location.origin,
    status,
    error: null,
  };
  return (
    <div className="app">
      <SkipLink />
      <Sidebar
        backends={[backend]}
        selected={backend.id}
        onSelect={() => undefined}
        onSignOut={() => signOut(null)}
      />
      <BackendView
        key={auth.kind === "token" ? auth.token : auth.csrf}
        backend={backend}
        client={client}
        desktop={null}
        onCallerError={onCallerError}
        onCallerOk={onCallerOk}
      />
    </div>
  );
}

const noop = () => undefined;

/** One client per backend id for the life of the window (pages keep their data). */
const tauriClients = new Map<string, Client>();
function clientFor(id: string): Client {
  let c = tauriClients.get(id);
  if (!c) {
    c = createClient(new TauriTransport(id));
    tauriClients.set(id, c);
  }
  return c;
}

/** In the Tauri app: every configured backend, through IPC. */
function DesktopApp() {
  const desktop = useMemo(() => new Desktop(), []);
  const list = useAsync(() => desktop.listBackends(), [desktop]);
  const [selected, setSelected] = useState<string>("local");
  const backends = list.data ?? [];
  const current = backends.find((b) => b.id === selected) ?? backends[0];
  const reloadList = list.reload;
  const onCallerError = useCallback(() => reloadList(), [reloadList]);
  return (
    <div className="app">
      <SkipLink />
      <Sidebar
        backends={backends}
        selected={current?.id ?? null}
        onSelect={setSelected}
        desktop={desktop}
        onBackendsChanged={list.reload}
        listError={list.error}
      />
      {current ? (
        <BackendView
          key={current.id}
          backend={current}
          client={clientFor(current.id)}
          desktop={desktop}
          onCallerError={onCallerError}
          onCallerOk={noop}
        />
      ) : (
        <main className="main">
          <p className="empty">{list.loading ? "Loading backends…" : "No backend configured."}</p>
        </main>
      )}
    </div>
  );
}

function SkipLink() {
  return (
    <a className="skip-link" href="#page-title" onClick={(e) => {
      e.preventDefault();
      document.getElementById("page-title")?.focus();
    }}>
      Skip to the page
    </a>
  );
}
