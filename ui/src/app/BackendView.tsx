import { useCallback, useEffect, useMemo, useState } from "react";
import { listAll, type Client } from "../api/client";
import type { BackendError } from "../api/errors";
import type { Desktop } from "../api/tauri";
import type { BackendInfo } from "../bindings-desktop/BackendInfo";
import { PageError } from "../components/forms";
import { useAsync } from "../components/hooks";
import { AccountsPage } from "../pages/AccountsPage";
import { AddressBookPage } from "../pages/AddressBookPage";
import { AdminsPage } from "../pages/AdminsPage";
import { AliasesPage } from "../pages/AliasesPage";
import { AuditPage } from "../pages/AuditPage";
import { BatchSettingsPage } from "../pages/BatchSettingsPage";
import { DepartmentsPage } from "../pages/DepartmentsPage";
import { DnsPage } from "../pages/DnsPage";
import { DomainsPage } from "../pages/DomainsPage";
import { GroupsPage } from "../pages/GroupsPage";
import { LoginsPage } from "../pages/LoginsPage";
import { TracePage } from "../pages/TracePage";
import { MailboxSettingsPage } from "../pages/MailboxSettingsPage";
import { RecycleBinPage } from "../pages/RecycleBinPage";
import { SharedMailboxesPage } from "../pages/SharedMailboxesPage";
import { WorkflowGroupsPage } from "../pages/WorkflowGroupsPage";
import { MailServicePage } from "../pages/MailServicePage";
import { OutboundPage } from "../pages/OutboundPage";
import { PolicyPage } from "../pages/PolicyPage";
import { MailRulesPage } from "../pages/MailRulesPage";
import { OutboundUsagePage } from "../pages/OutboundUsagePage";
import { SettingsPage } from "../pages/SettingsPage";
import { SignInPage } from "../pages/SignInPage";
import { StartPage } from "../pages/StartPage";
import { startsFresh } from "../pages/startSteps";
import { browserStore } from "../pages/dnsPlan";
import {
  PAGES,
  loadNavCollapsed,
  loadPickedDomain,
  mayUse,
  navSections,
  saveNavCollapsed,
  savePickedDomain,
  useRoute,
  type PageId,
} from "./route";
import { SessionContext, useSession, type Session } from "./session";
import { StoppedFetching } from "./StoppedFetching";

interface Props {
  backend: BackendInfo;
  client: Client;
  desktop: Desktop | null;
  onCallerError: (e: BackendError) => void;
  onCallerOk: () => void;
}

/** One backend: who we are there, its pages, and the domain picker. */
export function BackendView({ backend, client, desktop, onCallerError, onCallerOk }: Props) {
  const who = useAsync(() => client.call("whoami", {}), [client]);
  const domains = useAsync(() => (who.data ? listAll(client, "list_domains", {}) : Promise.resolve([])), [client, who.data]);
  // The domain picked in the header, remembered per backend across reloads.
  const [picked, setPicked] = useState<string | null>(() => loadPickedDomain(browserStore(), backend.id));
  const setDomain = useCallback(
    (d: string | null) => {
      setPicked(d);
      savePickedDomain(browserStore(), backend.id, d);
    },
    [backend.id],
  );
  const [route, go] = useRoute();
  // Shared mailboxes whose fetching stopped, in every domain the caller may see: read again on
  // every page change and after a change on the Shared mailboxes page.
  const seesShared = who.data ? mayUse(who.data, "shared-mailboxes", desktop !== null) : false;
  const stopped = useAsync(
    seesShared ? () => listAll(client, "list_stopped_shared_mailboxes", {}) : null,
    [client, seesShared, route],
  );
  const [navCollapsed, setNavCollapsed] = useState(() => loadNavCollapsed(browserStore(), window.innerWidth));
  useEffect(() => {
    document.documentElement.dataset.nav = navCollapsed ? "collapsed" : "expanded";
  }, [navCollapsed]);
  const toggleNav = () => {
    saveNavCollapsed(browserStore(), !navCollapsed);
    setNavCollapsed(!navCollapsed);
  };

  useEffect(() => {
    if (who.error) onCallerError(who.error);
    else if (who.data) onCallerOk();
  }, [who.error, who.data, onCallerError, onCallerOk]);

  const list = domains.data;
  // The picked domain while it exists, else the first one the caller may see.
  const domain = list?.some((d) => d.name === picked) ? picked : (list?.[0]?.name ?? null);

  const session: Session | null = useMemo(
    () =>
      who.data
        ? {
            backend,
            client,
            caller: who.data,
            domains: list ?? [],
            domainsError: domains.error,
            reloadDomains: domains.reload,
            reloadNotices: stopped.reload,
            domain,
            setDomain,
            readOnly: who.data.role === "helpdesk",
            desktop,
          }
        : null,
    [backend, client, who.data, list, domains.error, domains.reload, stopped.reload, domain, setDomain, desktop],
  );

  if (who.error) {
    return (
      <main className="main">
        <h1 className="page-title">{backend.name}</h1>
        <PageError error={who.error} what="this backend" />
        <button type="button" onClick={who.reload}>
          Try again
        </button>
      </main>
    );
  }
  if (!session) {
    return (
      <main className="main">
        <p className="empty">Connecting to {backend.name}…</p>
      </main>
    );
  }

  const isDesktop = desktop !== null;
  const visible = PAGES.filter((p) => mayUse(session.caller, p.id, isDesktop));
  // Without a page in the URL: the first-run path while nothing is set up, else Accounts.
  const fallback = startsFresh(session.caller, session.domains) ? "start" : "accounts";
  const page: PageId = route ?? (visible.find((p) => p.id === fallback) ?? visible[0] ?? PAGES[0]).id;
  const def = PAGES.find((p) => p.id === page)!;
  const allowed = mayUse(session.caller, page, isDesktop);

  return (
    <SessionContext.Provider value={session}>
      <nav className="pages-nav" id="pages-nav" aria-label="Pages">
        <div className="whoami" title={`Signed in as ${session.caller.name}`}>
          {session.caller.name} <span className="muted">({session.caller.role})</span>
        </div>
        {navSections(visible).map((g) => (
          <div key={g.id} className="nav-section" role="group" aria-label={g.title ?? "Start"}>
            {g.title && <h2 className="nav-heading">{g.title}</h2>}
            <ul>
              {g.pages.map((p) => (
                <li key={p.id}>
                  <a
                    href={`#/${p.id}`}
                    aria-current={p.id === page ? "page" : undefined}
                    onClick={(e) => {
                      e.preventDefault();
                      go(p.id);
                    }}
                  >
                    {p.title}
                  </a>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </nav>
      <main className="main" aria-labelledby="page-title">
        <header className="page-head">
          <button
            type="button"
            className="ghost menu-toggle"
            aria-expanded={!navCollapsed}
            aria-controls="pages-nav"
            onClick={toggleNav}
          >
            {navCollapsed ? "☰ Show menu" : "Hide menu"}
          </button>
          <h1 id="page-title" className="page-title" tabIndex={-1}>
            {def.title}
          </h1>
          {def.perDomain && <DomainPicker />}
        </header>
        {session.readOnly && (
          <div className="notice" role="note">
            Read-only: the helpdesk role can look at everything its pages cover but change nothing.
          </div>
        )}
        <StoppedFetching stopped={stopped.data ?? []} setDomain={setDomain} />
        {!allowed ? (
          <div className="page-error denied" role="alert" data-code="permission_denied">
            <strong>Permission denied.</strong> Your admin account ({session.caller.name}) may not use the{" "}
            {def.title} page on this backend.
          </div>
        ) : def.perDomain && domains.error ? (
          <PageError error={domains.error} what="the domains" />
        ) : def.perDomain && !domain ? (
          <p className="empty">
            {domains.loading ? "Loading domains…" : "There is no domain you may manage yet. Create one on the Domains page."}
          </p>
        ) : (
          // Per-domain pages start afresh (filters, selection) when the domain changes; the DNS
          // page does that itself, keeping its all-domains matrix.
          <PageBody key={def.perDomain && page !== "dns" ? `${page}:${domain}` : page} page={page} />
        )}
      </main>
    </SessionContext.Provider>
  );
}

function PageBody({ page }: { page: PageId }) {
  switch (page) {
    case "start":
      return <StartPage />;
    case "domains":
      return <DomainsPage />;
    case "departments":
      return <DepartmentsPage />;
    case "accounts":
      return <AccountsPage />;
    case "recycle":
      return <RecycleBinPage />;
    case "mailbox-settings":
      return <MailboxSettingsPage />;
    case "shared-mailboxes":
      return <SharedMailboxesPage />;
    case "workflow-groups":
      return <WorkflowGroupsPage />;
    case "aliases":
      return <AliasesPage />;
    case "groups":
      return <GroupsPage />;
    case "dns":
      return <DnsPage />;
    case "admins":
      return <AdminsPage />;
    case "audit":
      return <AuditPage />;
    case "logins":
      return <LoginsPage />;
    case "settings":
      return <SettingsPage />;
    case "batch_settings":
      return <BatchSettingsPage />;
    case "address_book":
      return <AddressBookPage />;
    case "policy":
      return <PolicyPage />;
    case "mail-rules":
      return <MailRulesPage />;
    case "outbound-usage":
      return <OutboundUsagePage />;
    case "smtp":
      return <MailServicePage />;
    case "outbound":
      return <OutboundPage />;
    case "trace":
      return <TracePage />;
    case "sign-in":
      return <SignInPage />;
  }
}

function DomainPicker() {
  const { domains, domain, setDomain } = useSession();
  if (domains.length === 0) return null;
  return (
    <label className="domain-picker">
      <span>Domain</span>
      <select value={domain ?? ""} onChange={(e) => setDomain(e.target.value)} aria-label="Domain">
        {domains.map((d) => (
          <option key={d.name} value={d.name}>
            {d.display_name}
          </option>
        ))}
      </select>
    </label>
  );
}

