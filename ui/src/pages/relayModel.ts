import type { Relay } from "../bindings/Relay";
import type { RelayAuth } from "../bindings/RelayAuth";
import type { RelayTls } from "../bindings/RelayTls";
import type { SetRelay } from "../bindings/SetRelay";
import { parsePort } from "./outboundModel";

/** The relay form as typed. The secret field starts empty: it is write-only. */
export interface RelayForm {
  senderDomain: string;
  host: string;
  port: string;
  tls: RelayTls;
  verifyCertificate: boolean;
  auth: RelayAuth;
  username: string;
  secret: string;
}

/** The usual port of each TLS mode (RFC 8314: 465 implicit, 587 STARTTLS). */
export function defaultPort(tls: RelayTls): string {
  return tls === "implicit" ? "465" : "587";
}

export const emptyRelayForm = (): RelayForm => ({
  senderDomain: "",
  host: "",
  port: "587",
  tls: "starttls",
  verifyCertificate: true,
  auth: "plain",
  username: "",
  secret: "",
});

/** A stored relay in the form, to change it (the secret stays empty: kept unless typed). */
export function formOf(r: Relay): RelayForm {
  return {
    senderDomain: r.sender_domain ?? "",
    host: r.host,
    port: String(r.port),
    tls: r.tls,
    verifyCertificate: r.verify_certificate,
    auth: r.auth,
    username: r.username,
    secret: "",
  };
}

/**
 * The `set_relay` params of a form: no secret when none was typed (the stored one is kept),
 * no user name or secret without AUTH; the port as typed (0 when not a number: the backend
 * says why).
 */
export function relayParams(f: RelayForm): SetRelay {
  const p: SetRelay = {
    host: f.host.trim(),
    port: parsePort(f.port) ?? 0,
    tls: f.tls,
    verify_certificate: f.verifyCertificate,
    auth: f.auth,
  };
  if (f.senderDomain.trim()) p.sender_domain = f.senderDomain.trim();
  if (f.auth !== "none") {
    p.username = f.username.trim();
    if (f.secret !== "") p.secret = f.secret;
  }
  return p;
}

/** Which mail a relay carries, in words. */
export function scopeLabel(r: Relay): string {
  return r.sender_domain ? `Mail from ${r.sender_domain}` : "All outbound mail";
}

/** The TLS mode in words. */
export function tlsLabel(tls: RelayTls, verify: boolean): string {
  const mode = tls === "implicit" ? "Implicit TLS" : "STARTTLS required";
  return verify ? `${mode}, certificate checked` : `${mode}, certificate not checked`;
}

/** The AUTH mechanism in words. */
export function authLabel(auth: RelayAuth): string {
  switch (auth) {
    case "none":
      return "None";
    case "plain":
      return "PLAIN";
    case "login":
      return "LOGIN";
    case "xoauth2":
      return "XOAUTH2 (bearer token)";
  }
}
