import { describe, expect, it } from "vitest";
import { condition, describeBcc, describeDisclaimer, describeMonitor, limitText, movedPosition, stateText } from "./mailRules";

describe("mail rules", () => {
  it("describes a BCC rule with its conditions or their absence", () => {
    const base = { id: 1, domain: "example.com", name: "r", copy_to: "archive@example.com" };
    expect(describeBcc({ ...base, direction: "outbound", sender: "ann@example.com", recipient: null })).toBe(
      "Mail sent from ann@example.com to any recipient → a blind copy to archive@example.com",
    );
    expect(describeBcc({ ...base, direction: "inbound", sender: null, recipient: "example.com" })).toBe(
      "Mail received from any sender to example.com → a blind copy to archive@example.com",
    );
  });
  it("sends no condition for an empty field", () => {
    expect(condition("  ")).toBeUndefined();
    expect(condition(" remote.test ")).toBe("remote.test");
  });
  it("says the daily limits and the state in words", () => {
    expect(limitText(0, 0)).toBe("No limit");
    expect(limitText(100, 0)).toBe("100 messages");
    expect(limitText(100, 50)).toBe("100 messages and 50 MB");
    expect(stateText("over")).toContain("refused");
  });
  it("describes a disclaimer rule with its conditions and exceptions", () => {
    const base = {
      id: 1,
      domain: "example.com",
      position: 1,
      name: "legal",
      sender: null,
      recipient: null,
      department: null,
      except_sender: null,
      except_recipient: null,
      except_department: null,
      text: "Confidential.",
      html: null,
    };
    expect(describeDisclaimer({ ...base, scope: "any" })).toBe("Mail sent to anyone");
    expect(
      describeDisclaimer({ ...base, scope: "external", department: "Sales", except_recipient: "partner.example" }),
    ).toBe("Mail sent with a recipient elsewhere, from department Sales; except mail to partner.example");
  });
  it("moves a rule up or down within the list only", () => {
    expect(movedPosition(0, -1, 3)).toBeNull();
    expect(movedPosition(0, 1, 3)).toBe(2);
    expect(movedPosition(2, 1, 3)).toBeNull();
    expect(movedPosition(2, -1, 3)).toBe(2);
  });
  it("describes a monitoring rule: whom, which mail, the exceptions and the action", () => {
    const base = {
      id: 1,
      domain: "example.com",
      name: "watch",
      scope_department: null,
      scope_account: null,
      traffic: "any" as const,
      sender: null,
      recipient: null,
      min_size_kb: null,
      keyword: null,
      except_sender: null,
      except_recipient: null,
      except_keyword: null,
      action: "copy" as const,
      target: "monitor@example.com",
    };
    expect(describeMonitor(base)).toBe("Mail of everyone of example.com: copied to monitor@example.com");
    expect(
      describeMonitor({
        ...base,
        scope_department: "Legal",
        traffic: "external",
        min_size_kb: 20,
        keyword: "invoice",
        except_sender: "trusted.test",
        action: "folder",
        target: "Invoices",
      }),
    ).toBe(
      "Mail of department Legal to or from elsewhere, of at least 20 KB, saying “invoice”; except mail from trusted.test: filed into the folder “Invoices”",
    );
  });
});
