import { describe, expect, it } from "vitest";
import type { CheckResult } from "../bindings/CheckResult";
import type { DnsRecord } from "../bindings/DnsRecord";
import type { DomainReport } from "../bindings/DomainReport";
import { checkOf, dnsInputsKey, groupRecords, loadDnsInputs, mapLimit, saveDnsInputs, statusLabel, worstStatus } from "./dnsPlan";

const rec = (check: string, name: string): DnsRecord => ({ check, name, record_type: "TXT", value: "v" });
const result = (status: CheckResult["status"]): CheckResult => ({ status, findings: [] });

const report: DomainReport = {
  domain: "example.com",
  checks: {
    mx: result("pass"),
    spf: { status: "warn", lookups: 1, void_lookups: 0, findings: [] },
    dkim: result("fail"),
    dmarc: result("pass"),
    cname: result("pass"),
    mta_sts: result("pass"),
    tls_rpt: result("pass"),
  },
};

class MemoryStore {
  map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
}

describe("dns plan helpers", () => {
  it("finds a check's result, and nothing for an unknown check", () => {
    expect(checkOf(report, "spf")?.status).toBe("warn");
    expect(checkOf(report, "dkim")?.status).toBe("fail");
    expect(checkOf(report, "toString")).toBeNull();
    expect(checkOf(report, "srv")).toBeNull();
    expect(checkOf(null, "mx")).toBeNull();
  });

  it("takes the worst status", () => {
    expect(worstStatus([])).toBe("pass");
    expect(worstStatus(["pass", "warn"])).toBe("warn");
    expect(worstStatus(["warn", "fail", "pass"])).toBe("fail");
    expect(worstStatus(["unset", "pass"])).toBe("pass");
    expect(worstStatus(["unset", "unset"])).toBe("unset");
    expect(worstStatus(["unset", "warn"])).toBe("warn");
  });

  it("groups records by check in order of first appearance", () => {
    const groups = groupRecords([rec("mx", "a"), rec("dkim", "s1"), rec("spf", "a"), rec("dkim", "s2")]);
    expect(groups.map((g) => g.check)).toEqual(["mx", "dkim", "spf"]);
    expect(groups[1].records.map((r) => r.name)).toEqual(["s1", "s2"]);
  });

  it("remembers the inputs per backend and domain", () => {
    const store = new MemoryStore();
    expect(loadDnsInputs(store, "local", "example.com")).toEqual({ mail_host: "", server_ip: "" });
    saveDnsInputs(store, "local", "example.com", { mail_host: "mx.example.net", server_ip: "192.0.2.1" });
    expect(loadDnsInputs(store, "local", "example.com")).toEqual({ mail_host: "mx.example.net", server_ip: "192.0.2.1" });
    expect(loadDnsInputs(store, "remote", "example.com").mail_host).toBe("");
    expect(loadDnsInputs(store, "local", "other.org").mail_host).toBe("");
    expect(loadDnsInputs(null, "local", "example.com").mail_host).toBe("");
  });

  it("ignores broken stored values", () => {
    const store = new MemoryStore();
    store.setItem(dnsInputsKey("b", "d"), "{not json");
    expect(loadDnsInputs(store, "b", "d")).toEqual({ mail_host: "", server_ip: "" });
    store.setItem(dnsInputsKey("b", "d"), JSON.stringify({ mail_host: 5 }));
    expect(loadDnsInputs(store, "b", "d")).toEqual({ mail_host: "", server_ip: "" });
    const throwing = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("full");
      },
    };
    expect(loadDnsInputs(throwing, "b", "d").mail_host).toBe("");
    expect(() => saveDnsInputs(throwing, "b", "d", { mail_host: "x", server_ip: "" })).not.toThrow();
  });

  it("runs at most `limit` at once, keeps the order, and carries on after a failure", async () => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 10 }, (_, i) => i);
    const out = await mapLimit(items, 4, async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, (i % 3) * 5));
      running--;
      if (i === 3) throw new Error("boom");
      return i * 2;
    });
    expect(peak).toBe(4);
    expect(out).toHaveLength(10);
    expect(out[3]).toEqual({ status: "rejected", reason: new Error("boom") });
    expect(out.filter((r) => r.status === "fulfilled").map((r) => r.value)).toEqual([0, 2, 4, 8, 10, 12, 14, 16, 18]);
  });

  it("handles no items and a limit above the count", async () => {
    expect(await mapLimit([], 4, () => Promise.resolve(1))).toEqual([]);
    expect(await mapLimit(["a"], 4, (s) => Promise.resolve(s + "!"))).toEqual([{ status: "fulfilled", value: "a!" }]);
  });
});

describe("statusLabel", () => {
  it("never words an unset check as a pass", () => {
    expect(statusLabel("cname", "unset")).toBe("Not checked");
    expect(statusLabel("mta_sts", "unset")).toBe("Not set (optional)");
    expect(statusLabel("tls_rpt", "pass")).toBe("Pass");
    expect(statusLabel("mx", "fail")).toBe("Fail");
  });
});
