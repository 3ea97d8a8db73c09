import { describe, expect, it } from "vitest";
import { createClient } from "./client";
import { BackendError } from "./errors";
import { buildRequest, HttpTransport, type FetchLike } from "./http";

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A fetch that records the request and answers with `status` and `body`. */
function fakeFetch(status: number, body: unknown, seen: Seen[] = []): FetchLike {
  return (url, init) => {
    seen.push({
      url,
      method: init.method ?? "GET",
      headers: init.headers as Record<string, string>,
      body: init.body as string | undefined,
    });
    const text = typeof body === "string" ? body : body === undefined ? "" : JSON.stringify(body);
    return Promise.resolve(new Response(status === 204 ? null : text, { status }));
  };
}

function client(status: number, body: unknown, seen: Seen[] = [], token: string | null = "pd_tok") {
  return createClient(new HttpTransport("http://h:1/", () => token, fakeFetch(status, body, seen)));
}

describe("buildRequest", () => {
  it("fills path segments, percent-encoded, and removes them from the params", () => {
    const r = buildRequest("https://mail.example.com/base/", "get_account", { address: "a/b c@example.com" }, null);
    expect(r.method).toBe("GET");
    expect(r.url).toBe("https://mail.example.com/base/api/accounts/a%2Fb%20c%40example.com");
    expect(r.body).toBeUndefined();
  });

  it("puts the remaining scalars of a GET in the query string and skips null and undefined", () => {
    const r = buildRequest(
      "http://h",
      "list_accounts",
      { domain: "example.com", query: "ann & co", descending: true, limit: 20, department: undefined, status: null },
      "t",
    );
    expect(r.url).toBe("http://h/api/domains/example.com/accounts?query=ann+%26+co&descending=true&limit=20");
    expect(r.body).toBeUndefined();
    expect(r.headers.Authorization).toBe("Bearer t");
    expect(r.headers["Content-Type"]).toBeUndefined();
  });

  it("sends DELETE params in the query string too", () => {
    const r = buildRequest("http://h", "remove_department", { domain: "example.com", path: "Sales/East" }, "t");
    expect(r.method).toBe("DELETE");
    expect(r.url).toBe("http://h/api/domains/example.com/departments?path=Sales%2FEast");
    expect(r.body).toBeUndefined();
  });

  it("has no query string when nothing is left", () => {
    expect(buildRequest("http://h", "list_domains", {}, "t").url).toBe("http://h/api/domains");
    expect(buildRequest("http://h", "revoke_token", { id: "pd_abc" }, "t").url).toBe("http://h/api/tokens/pd_abc");
  });

  it("refuses non-scalar query parameters", () => {
    expect(() => buildRequest("http://h", "list_audit", { actor: ["a"] }, "t")).toThrow(BackendError);
  });

  it("refuses a missing path field", () => {
    expect(() => buildRequest("http://h", "get_account", {}, "t")).toThrow(/path field address/);
  });

  it("sends the other methods' params as a JSON body, without the path fields", () => {
    const r = buildRequest(
      "http://h",
      "update_account",
      { address: "a@example.com", display_name: "Ann", notes: undefined },
      "t",
    );
    expect(r.method).toBe("PATCH");
    expect(r.url).toBe("http://h/api/accounts/a%40example.com");
    expect(r.headers["Content-Type"]).toBe("application/json");
    expect(JSON.parse(r.body!)).toEqual({ display_name: "Ann" });
  });

  it("keeps nulls in a JSON body (they mean something there)", () => {
    const r = buildRequest("http://h", "create_domain", { domain: "example.com" }, "t");
    expect(r.method).toBe("POST");
    expect(r.url).toBe("http://h/api/domains");
    expect(JSON.parse(r.body!)).toEqual({ domain: "example.com" });
    const m = buildRequest("http://h", "move_department", { domain: "x.org", path: "A/B", new_parent: null }, "t");
    expect(m.url).toBe("http://h/api/domains/x.org/departments/move");
    expect(JSON.parse(m.body!)).toEqual({ path: "A/B", new_parent: null });
  });

  it("sends no Authorization header without a token", () => {
    expect(buildRequest("", "whoami", {}, null).headers.Authorization).toBeUndefined();
    expect(buildRequest("", "whoami", {}, null).url).toBe("/api/whoami");
  });
});

describe("HttpTransport", () => {
  it("returns the JSON output and sends the bearer token", async () => {
    const seen: Seen[] = [];
    const out = await client(200, { name: "owner", role: "owner", pages: [], domains: null }, seen).call("whoami", {});
    expect(out.name).toBe("owner");
    expect(seen[0].url).toBe("http://h:1/api/whoami");
    expect(seen[0].headers.Authorization).toBe("Bearer pd_tok");
  });

  it("returns null for unit outputs", async () => {
    await expect(client(200, "null").call("remove_account", { address: "a@x.org" })).resolves.toBeNull();
    await expect(client(200, "").call("remove_account", { address: "a@x.org" })).resolves.toBeNull();
  });

  it("throws the API error with its code, message and field", async () => {
    const body = { code: "conflict", message: "account a@x.org already exists", field: "address" };
    const err = await client(409, body)
      .call("create_account", { address: "a@x.org" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    const be = err as BackendError;
    expect([be.code, be.message, be.field]).toEqual(["conflict", "account a@x.org already exists", "address"]);
    expect(be.toJSON()).toEqual(body);
  });

  it("keeps the problems of a refused file by row and column", async () => {
    const body = {
      code: "validation",
      message: "the file was not imported: 1 problem",
      field: "file",
      rows: [{ row: 9, column: "Email address", message: "no @" }],
    };
    const err = (await client(400, body)
      .call("start_import", { domain: "x.org", file_name: "a.xlsx", content_base64: "" })
      .catch((e: unknown) => e)) as BackendError;
    expect(err.rows).toEqual(body.rows);
    expect(err.toJSON()).toEqual(body);
  });

  it("keeps a missing field undefined", async () => {
    const err = (await client(403, { code: "permission_denied", message: "no" })
      .call("list_admins", {})
      .catch((e: unknown) => e)) as BackendError;
    expect(err.code).toBe("permission_denied");
    expect(err.field).toBeUndefined();
    expect(err.rows).toEqual([]);
  });

  it("maps a non-JSON failure to the status's code", async () => {
    const err = (await client(502, "<html>Bad gateway</html>")
      .call("list_domains", {})
      .catch((e: unknown) => e)) as BackendError;
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain("HTTP 502");
    const e404 = (await client(404, "nope").call("list_domains", {}).catch((e: unknown) => e)) as BackendError;
    expect(e404.code).toBe("not_found");
    const e500 = (await client(500, { oops: 1 }).call("list_domains", {}).catch((e: unknown) => e)) as BackendError;
    expect(e500.code).toBe("internal");
  });

  it("turns an unparseable success into an internal error", async () => {
    const err = (await client(200, "{not json").call("list_domains", {}).catch((e: unknown) => e)) as BackendError;
    expect(err.code).toBe("internal");
  });

  it("reports a network failure as unavailable", async () => {
    const failing: FetchLike = () => Promise.reject(new TypeError("Failed to fetch"));
    const c = createClient(new HttpTransport("http://down:9", () => "t", failing));
    const err = (await c.call("list_domains", {}).catch((e: unknown) => e)) as BackendError;
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain("http://down:9");
    expect(err.message).toContain("Failed to fetch");
  });

  it("reads the token at each call", async () => {
    const seen: Seen[] = [];
    let token: string | null = null;
    const c = createClient(new HttpTransport("", () => token, fakeFetch(200, [], seen)));
    await c.call("list_domains", {});
    token = "pd_new";
    await c.call("list_domains", {});
    expect(seen.map((s) => s.headers.Authorization)).toEqual([undefined, "Bearer pd_new"]);
  });
});
