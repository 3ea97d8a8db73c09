import type { Caller } from "../bindings/Caller";
import type { Domain } from "../bindings/Domain";
import type { PageId } from "../app/route";

/** Where a step of the first-run path stands: done, to do now, or waiting for an earlier step. */
export type StepState = "done" | "todo" | "later";

export interface Step {
  id: "domain" | "dns" | "accounts" | "clients";
  title: string;
  state: StepState;
  /** What the admin sees under the title: what is there, or what to do. */
  detail: string;
  /** The page that does it. */
  page: PageId;
}

/**
 * The first-run path, from what the backend holds: a domain, its DNS records (checked in the
 * wizard, which remembers the mail host per domain), the first accounts, then mail clients.
 * `dnsChecked` lists the domains whose wizard has a remembered mail host.
 */
export function startSteps(domains: readonly Domain[], dnsChecked: ReadonlySet<string>): Step[] {
  const accounts = domains.reduce((n, d) => n + d.account_count, 0);
  const haveDomain = domains.length > 0;
  const unchecked = domains.filter((d) => !dnsChecked.has(d.name));
  return [
    {
      id: "domain",
      title: "Add your mail domain",
      state: haveDomain ? "done" : "todo",
      detail: haveDomain
        ? `${domains.length === 1 ? "1 domain" : `${domains.length} domains`}: ${domains.map((d) => d.display_name).join(", ")}.`
        : "The domain your addresses end in, such as example.com, with its plan (how many accounts, mailbox size).",
      page: "domains",
    },
    {
      id: "dns",
      title: "Publish the DNS records",
      state: !haveDomain ? "later" : unchecked.length === 0 ? "done" : "todo",
      detail: !haveDomain
        ? "Once a domain exists, the DNS wizard lists the MX, SPF, DKIM and DMARC records it needs and checks them."
        : unchecked.length === 0
          ? "The DNS wizard has a mail host for every domain; open it to check the records again."
          : `Give the mail host in the DNS wizard for ${unchecked.map((d) => d.display_name).join(", ")}: it lists the records to publish and checks them.`,
      page: "dns",
    },
    {
      id: "accounts",
      title: "Create the first accounts",
      state: !haveDomain ? "later" : accounts > 0 ? "done" : "todo",
      detail:
        accounts > 0
          ? `${accounts === 1 ? "1 account" : `${accounts} accounts`} so far. Import many at once from the spreadsheet template.`
          : "One by one, or many at once by importing the spreadsheet template.",
      page: "accounts",
    },
    {
      id: "clients",
      title: "Set up mail clients",
      state: accounts > 0 ? "todo" : "later",
      detail:
        "Each account's “Enter mailbox” shows the server names and ports of the services that run, and the links that set up Thunderbird, Outlook and Apple Mail.",
      page: "accounts",
    },
  ];
}

/** Whether to open the first-run path instead of the accounts page: nothing set up yet. */
export function startsFresh(caller: Caller, domains: readonly Domain[]): boolean {
  return caller.role === "owner" && domains.length === 0;
}
