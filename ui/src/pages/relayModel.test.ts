import { describe, expect, it } from "vitest";
import type { Relay } from "../bindings/Relay";
import { authLabel, defaultPort, emptyRelayForm, formOf, relayParams, scopeLabel, tlsLabel } from "./relayModel";

const stored: Relay = {
  sender_domain: "example.org",
  host: "smtp.relay.test",
  port: 465,
  tls: "implicit",
  verify_certificate: false,
  auth: "xoauth2",
  username: "ann@example.org",
  secret_set: true,
};

describe("relay form", () => {
  it("sends no secret unless one was typed, so the stored one is kept", () => {
    const p = relayParams(formOf(stored));
    expect(p).toEqual({
      sender_domain: "example.org",
      host: "smtp.relay.test",
      port: 465,
      tls: "implicit",
      verify_certificate: false,
      auth: "xoauth2",
      username: "ann@example.org",
    });
    expect("secret" in p).toBe(false);
    expect(relayParams({ ...formOf(stored), secret: "tok" }).secret).toBe("tok");
  });

  it("never shows a stored secret in the form", () => {
    expect(formOf(stored).secret).toBe("");
  });

  it("leaves the user and secret out without AUTH, and the global relay has no sender domain", () => {
    const f = { ...emptyRelayForm(), host: " relay.test ", auth: "none" as const, username: "x", secret: "y" };
    expect(relayParams(f)).toEqual({ host: "relay.test", port: 587, tls: "starttls", verify_certificate: true, auth: "none" });
  });

  it("passes a bad port on for the backend to refuse", () => {
    expect(relayParams({ ...emptyRelayForm(), port: "x" }).port).toBe(0);
  });

  it("names scopes, TLS modes and mechanisms", () => {
    expect(scopeLabel(stored)).toBe("Mail from example.org");
    expect(scopeLabel({ ...stored, sender_domain: null })).toBe("All outbound mail");
    expect(tlsLabel("starttls", true)).toBe("STARTTLS required, certificate checked");
    expect(tlsLabel("implicit", false)).toBe("Implicit TLS, certificate not checked");
    expect(authLabel("xoauth2")).toBe("XOAUTH2 (bearer token)");
    expect(defaultPort("implicit")).toBe("465");
    expect(defaultPort("starttls")).toBe("587");
  });
});
