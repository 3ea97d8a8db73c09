import { describe, expect, it } from "vitest";
import { autoconfigUrls, mobileconfigLink } from "./MailboxDialog";

describe("mail client self-setup links", () => {
  it("names the autoconfig addresses of the account's domain, the address encoded", () => {
    const urls = autoconfigUrls("o'neil&co@example.com").map((u) => u.url);
    expect(urls).toEqual([
      "https://autoconfig.example.com/mail/config-v1.1.xml?emailaddress=o'neil%26co%40example.com",
      "https://example.com/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=o'neil%26co%40example.com",
      "https://autodiscover.example.com/autodiscover/autodiscover.xml",
      "https://autoconfig.example.com/apple/mobileconfig?emailaddress=o'neil%26co%40example.com",
    ]);
  });

  it("links the profile on the serving origin only over HTTP(S)", () => {
    expect(mobileconfigLink("ann@example.com", "https://admin.example.com:8443")).toBe(
      "https://admin.example.com:8443/apple/mobileconfig?emailaddress=ann%40example.com",
    );
    expect(mobileconfigLink("ann@example.com", "tauri://localhost")).toBeNull();
    expect(mobileconfigLink("ann@example.com", null)).toBeNull();
  });
});
