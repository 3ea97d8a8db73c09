import { useSession } from "../app/session";
import { mayUse } from "../app/route";
import { browserStore, loadDnsInputs } from "./dnsPlan";
import { startSteps, type StepState } from "./startSteps";

const STATE_LABELS: Record<StepState, string> = { done: "Done", todo: "To do", later: "After the step above" };

/** The first-run path: domain → DNS records → first accounts → mail clients, each a link to its page. */
export function StartPage() {
  const { backend, caller, domains, desktop } = useSession();
  const checked = new Set(domains.filter((d) => loadDnsInputs(browserStore(), backend.id, d.name).mail_host).map((d) => d.name));
  const steps = startSteps(domains, checked);
  return (
    <section className="start-page">
      <p className="lead">Four steps take {backend.name} from nothing to mail in people&apos;s inboxes.</p>
      <ol className="start-steps">
        {steps.map((s) => {
          const allowed = mayUse(caller, s.page, desktop !== null);
          return (
            <li key={s.id} className={`start-step ${s.state}`} data-step={s.id} data-state={s.state}>
              <div className="start-step-head">
                <h2>{s.title}</h2>
                <span className={`badge ${s.state === "done" ? "active" : ""}`}>{STATE_LABELS[s.state]}</span>
              </div>
              <p>{s.detail}</p>
              {allowed ? (
                <a className="button" href={`#/${s.page}`}>
                  Open {PAGE_WORDS[s.id]}
                </a>
              ) : (
                <p className="muted">Your admin account may not open that page; ask the owner.</p>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

const PAGE_WORDS: Record<string, string> = {
  domain: "Domains",
  dns: "the DNS wizard",
  accounts: "Accounts",
  clients: "Accounts",
};
