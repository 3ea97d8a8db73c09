import type { Resolution } from "../bindings/Resolution";

/** How an address is routed, in words ("an alias", "the pickup rule tiktok_{number}"). */
export function describeRoute(r: Resolution): string {
  switch (r.kind) {
    case "account":
      return "an account";
    case "account_alias":
      return "an extra address of an account";
    case "alias":
      return "an alias";
    case "group":
      return "a mail group";
    case "pickup_rule":
      return `not an address of its own: the pickup rule ${r.rule ?? ""} takes it`;
    case "catch_all":
      return "not an address of its own: catch-all collection takes it";
    case "srs_return":
      return "the return address of a forwarded message: it leads back to the original sender";
  }
}
