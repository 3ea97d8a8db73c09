import { useCallback, useMemo, useState } from "react";
import { createClient, type Client } from "../api/client";
import { BackendError } from "../api/errors";
import { HttpTransport } from "../api/http";
import { Desktop, TauriTransport, inTauri } from "../api/tauri";
import type { BackendInfo } from "../bindings-desktop/BackendInfo";
import { useAsync } from "../components/hooks";
import { BackendView } from "./BackendView";
import { Login, TOKEN_KEY, readToken } from "./Login";
import { Sidebar } from "./Sidebar";

export function App() {
  return inTauri() ? <DesktopApp /> : <WebApp />;
}

/** In a browser: the one backend that serves this page, with the token from the login. */
function WebApp() {
  const [token, setToken] = useState<string | null>(readToken);
  const [loginMessage, setLoginMessage] = useState<string | null>(null);
  const [status, setStatus] = useState<BackendInfo["status"]>("online");
  const signOut = useCallback((message: string | null) => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setLoginMessage(message);
  }, []);
  const client = useMemo(() => {
    const http = new HttpTransport("", readToken);
    // A token revoked or expired mid-session: back to the login, saying why.
    return createClient({
      call: (name, params) =>
        http.call(name, params).catch((e: unknown) => {
          if (e instanceof BackendError && e.code === "unauthenticated" && readToken()) signOut(e.message);
          throw e;
        }),
    });
  }, [signOut]);
  const onCallerError = useCallback(
    (e: BackendError) => {
      if (e.code === "unauthenticated") signOut(e.message);
      else setStatus(e.code === "unavailable" ? "unreachable" : "online");
    },
    [signOut],
  );

  const onCallerOk = useCallback(() => setStatus("online"), []);

  if (!token) {
    return (
      <Login
        client={client}
        message={loginMessage}
        onLogin={(t) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          setStatus("online");
          setToken(t);
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
        key={token}
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
