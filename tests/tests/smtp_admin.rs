//! The SMTP service's admin API through the `Backend`, on both implementations: the
//! server-wide settings, the black/white list rules (CRUD, order, XLSX import and export),
//! the status when no mail server runs, and who may do what.

use std::io::Cursor;

use base64::Engine as _;
use calamine::{Reader, Xlsx};
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::smtp::*;
use postdesk_contract::{Backend, ErrorCode, Result};
use postdesk_tests::{Harness, contract, refused, xlsx};

contract!(
    settings_round_trip_with_defaults_and_an_audit_entry,
    refused_changes_change_nothing_and_audit_nothing,
    rules_are_added_updated_moved_and_removed_in_order,
    imports_append_or_replace_and_refuse_bad_files_whole,
    exports_read_back_as_values_and_import_again,
    status_without_a_mail_server_is_not_running_and_zero,
    helpdesk_reads_and_domain_admins_are_refused,
);

fn add(name: &str, kind: SmtpRuleKind, value: &str, action: SmtpRuleAction) -> AddSmtpRule {
    AddSmtpRule { name: name.into(), kind, value: value.into(), action, note: None, position: None }
}

fn update(id: u32) -> UpdateSmtpRule {
    UpdateSmtpRule { id, ..Default::default() }
}

async fn names(b: &dyn Backend) -> Vec<(u32, String)> {
    b.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items.into_iter().map(|r| (r.position, r.name)).collect()
}

fn file(rows: &[&[&str]]) -> Vec<u8> {
    let mut all: Vec<Vec<String>> = vec![header()];
    all.extend(rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()));
    xlsx(&all)
}

/// The rules template's header row.
fn header() -> Vec<String> {
    postdesk_xlsx::RULE_COLUMNS.iter().map(|c| c.to_string()).collect()
}

async fn import(b: &dyn Backend, bytes: &[u8], mode: Option<SmtpImportMode>) -> Result<SmtpRulesImported> {
    b.import_smtp_rules(ImportSmtpRules {
        file_name: "rules.xlsx".into(),
        content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        mode,
    })
    .await
}

async fn settings_round_trip_with_defaults_and_an_audit_entry(h: Harness) {
    let b = h.owner.as_ref();
    let defaults = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    assert_eq!(defaults, SmtpSettings::default());
    assert_eq!(
        (
            defaults.max_message_bytes,
            defaults.max_recipients,
            defaults.command_timeout_secs,
            defaults.data_timeout_secs
        ),
        (25 * 1024 * 1024, 100, 300, 180)
    );
    assert!(defaults.inbound_auth.verify && defaults.sender.reject_malformed && !defaults.allow_auth_without_tls);

    let mut wanted = SmtpSettings {
        hostname: "MX.Example.COM".into(),
        banner: "  Postdesk at your service ".into(),
        max_message_bytes: 10 * 1024 * 1024,
        max_recipients: 10_000,
        command_timeout_secs: 10,
        require_sender_match: false,
        ..SmtpSettings::default()
    };
    wanted.connection.max_connections_per_ip = Some(20);
    wanted.connection.messages_per_ip = Some(SmtpRateLimit { count: 100, window_secs: 60 });
    wanted.inbound_auth.reject_spf_fail = true;
    let saved = b.update_smtp_settings(UpdateSmtpSettings { settings: wanted.clone() }).await.unwrap();
    assert_eq!(saved.hostname, "mx.example.com", "canonical host name");
    assert_eq!(saved.banner, "Postdesk at your service");
    let read = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    assert_eq!(read, saved);
    assert_eq!(read.connection.messages_per_ip, Some(SmtpRateLimit { count: 100, window_secs: 60 }));
    assert_eq!(h.engine.smtp_config().await.unwrap().settings, saved, "the mail server's hook sees it");

    let audit =
        b.list_audit(ListAudit { action: Some("update_smtp_settings".into()), ..Default::default() }).await.unwrap();
    assert_eq!(audit.total, 1);
    let entry = &audit.items[0];
    assert_eq!(entry.before.as_ref().unwrap()["hostname"], "localhost");
    assert_eq!(entry.after.as_ref().unwrap()["hostname"], "mx.example.com");
    assert_eq!(entry.domain, None);
}

async fn refused_changes_change_nothing_and_audit_nothing(h: Harness) {
    let b = h.owner.as_ref();
    b.add_smtp_rule(add("block-net", SmtpRuleKind::ClientIp, "192.0.2.0/24", SmtpRuleAction::Reject)).await.unwrap();
    let audit = h.audit_count().await;
    let rules = b.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items;
    let version = h.engine.smtp_config().await.unwrap().version;

    let d = SmtpSettings::default;
    let bad = [
        (SmtpSettings { max_message_bytes: 1023, ..d() }, "max_message_bytes", "1024"),
        (SmtpSettings { max_recipients: 0, ..d() }, "max_recipients", "1 to 10000"),
        (SmtpSettings { max_recipients: 10_001, ..d() }, "max_recipients", "1 to 10000"),
        (SmtpSettings { command_timeout_secs: 9, ..d() }, "command_timeout_secs", "10 to 3600"),
        (SmtpSettings { data_timeout_secs: 0, ..d() }, "data_timeout_secs", "10 to 3600"),
        (SmtpSettings { hostname: "not a host".into(), ..d() }, "hostname", "not a host"),
        (SmtpSettings { banner: "hi\r\n250 ok".into(), ..d() }, "banner", "printable ASCII"),
    ];
    for (settings, field, needle) in bad {
        let e = refused(b.update_smtp_settings(UpdateSmtpSettings { settings }).await, ErrorCode::Validation, needle);
        assert_eq!(e.field.as_deref(), Some(field));
    }
    let mut s = d();
    s.connection.messages_per_ip = Some(SmtpRateLimit { count: 0, window_secs: 60 });
    let e =
        refused(b.update_smtp_settings(UpdateSmtpSettings { settings: s }).await, ErrorCode::Validation, "messages");
    assert_eq!(e.field.as_deref(), Some("connection.messages_per_ip.count"));

    let bad_rules = [
        (add("ip", SmtpRuleKind::ClientIp, "192.0.2.300", SmtpRuleAction::Reject), ErrorCode::Validation, "not an IP"),
        (add("net", SmtpRuleKind::ClientIp, "10.0.0.1/8", SmtpRuleAction::Reject), ErrorCode::Validation, "10.0.0.0/8"),
        (
            add("d", SmtpRuleKind::SenderDomain, "no_such domain", SmtpRuleAction::Reject),
            ErrorCode::Validation,
            "domain",
        ),
        (add("a", SmtpRuleKind::SenderAddress, "no-at-sign", SmtpRuleAction::Reject), ErrorCode::Validation, "no @"),
        (add(" ", SmtpRuleKind::SenderDomain, "spam.example", SmtpRuleAction::Reject), ErrorCode::Validation, "name"),
        (
            add("BLOCK-NET", SmtpRuleKind::SenderDomain, "spam.example", SmtpRuleAction::Reject),
            ErrorCode::Conflict,
            "named block-net",
        ),
        (
            add("again", SmtpRuleKind::ClientIp, "192.0.2.0/24", SmtpRuleAction::Allow),
            ErrorCode::Conflict,
            "never be reached",
        ),
    ];
    for (params, code, needle) in bad_rules {
        refused(b.add_smtp_rule(params).await, code, needle);
    }
    let id = rules[0].id;
    refused(
        b.update_smtp_rule(UpdateSmtpRule { kind: Some(SmtpRuleKind::SenderDomain), ..update(id) }).await,
        ErrorCode::Validation,
        "",
    );
    refused(b.update_smtp_rule(update(id + 1000)).await, ErrorCode::NotFound, "no SMTP rule");
    refused(b.remove_smtp_rule(RemoveSmtpRule { id: id + 1000 }).await, ErrorCode::NotFound, "no SMTP rule");
    refused(b.move_smtp_rule(MoveSmtpRule { id, position: 0 }).await, ErrorCode::Validation, "start at 1");

    assert_eq!(h.audit_count().await, audit, "nothing audited");
    assert_eq!(b.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items, rules, "rules unchanged");
    assert_eq!(b.get_smtp_settings(GetSmtpSettings {}).await.unwrap(), SmtpSettings::default());
    assert_eq!(h.engine.smtp_config().await.unwrap().version, version, "no new version");
}

async fn rules_are_added_updated_moved_and_removed_in_order(h: Harness) {
    let b = h.owner.as_ref();
    let a = b.add_smtp_rule(add("a", SmtpRuleKind::ClientIp, "192.0.2.7", SmtpRuleAction::Reject)).await.unwrap();
    assert_eq!((a.position, a.value.as_str()), (1, "192.0.2.7"));
    let bee = b
        .add_smtp_rule(AddSmtpRule {
            note: Some("partner".into()),
            ..add("b", SmtpRuleKind::SenderDomain, "Partner.Example", SmtpRuleAction::Allow)
        })
        .await
        .unwrap();
    assert_eq!((bee.value.as_str(), bee.note.as_str(), bee.position), ("partner.example", "partner", 2));
    let c = b
        .add_smtp_rule(add("c", SmtpRuleKind::SenderAddress, "Spam@Bad.Example", SmtpRuleAction::Discard))
        .await
        .unwrap();
    assert_eq!(c.value, "spam@bad.example");
    // Inserted first: the others move down.
    b.add_smtp_rule(AddSmtpRule {
        position: Some(1),
        ..add("first", SmtpRuleKind::ClientIp, "2001:db8::/32", SmtpRuleAction::Reject)
    })
    .await
    .unwrap();
    // A position past the end means last.
    b.add_smtp_rule(AddSmtpRule {
        position: Some(99),
        ..add("last", SmtpRuleKind::ClientIp, "198.51.100.0/24", SmtpRuleAction::Allow)
    })
    .await
    .unwrap();
    let order = |v: &[(u32, &str)]| v.iter().map(|(p, n)| (*p, n.to_string())).collect::<Vec<_>>();
    assert_eq!(names(b).await, order(&[(1, "first"), (2, "a"), (3, "b"), (4, "c"), (5, "last")]));

    // Update: rename, new action, new kind with a value that suits it.
    let changed = b
        .update_smtp_rule(UpdateSmtpRule {
            name: Some("a-renamed".into()),
            action: Some(SmtpRuleAction::Discard),
            kind: Some(SmtpRuleKind::SenderDomain),
            value: Some("spam.example".into()),
            ..update(a.id)
        })
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.kind, changed.value.as_str(), changed.action, changed.position),
        ("a-renamed", SmtpRuleKind::SenderDomain, "spam.example", SmtpRuleAction::Discard, 2)
    );
    // Renaming a rule to its own name in other case is fine.
    b.update_smtp_rule(UpdateSmtpRule { name: Some("A-RENAMED".into()), ..update(a.id) }).await.unwrap();

    // Moves: down, up, past the end.
    let moved = b.move_smtp_rule(MoveSmtpRule { id: a.id, position: 4 }).await.unwrap();
    let got: Vec<(u32, String)> = moved.into_iter().map(|r| (r.position, r.name)).collect();
    assert_eq!(got, order(&[(1, "first"), (2, "b"), (3, "c"), (4, "A-RENAMED"), (5, "last")]));
    b.move_smtp_rule(MoveSmtpRule { id: c.id, position: 1 }).await.unwrap();
    assert_eq!(names(b).await, order(&[(1, "c"), (2, "first"), (3, "b"), (4, "A-RENAMED"), (5, "last")]));
    b.move_smtp_rule(MoveSmtpRule { id: c.id, position: 50 }).await.unwrap();
    assert_eq!(names(b).await, order(&[(1, "first"), (2, "b"), (3, "A-RENAMED"), (4, "last"), (5, "c")]));

    // Remove: the rest move up; the mail server's hook sees the same order.
    b.remove_smtp_rule(RemoveSmtpRule { id: bee.id }).await.unwrap();
    assert_eq!(names(b).await, order(&[(1, "first"), (2, "A-RENAMED"), (3, "last"), (4, "c")]));
    let config = h.engine.smtp_config().await.unwrap();
    assert_eq!(config.rules, b.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items);

    let audit =
        b.list_audit(ListAudit { action: Some("remove_smtp_rule".into()), ..Default::default() }).await.unwrap();
    assert_eq!(audit.items[0].target, "b");
    assert_eq!(audit.items[0].before.as_ref().unwrap()["value"], "partner.example");
}

async fn imports_append_or_replace_and_refuse_bad_files_whole(h: Harness) {
    let b = h.owner.as_ref();
    b.add_smtp_rule(add("existing", SmtpRuleKind::SenderDomain, "old.example", SmtpRuleAction::Reject)).await.unwrap();
    let good = file(&[
        &["block-net", "client_ip", "203.0.113.0/24", "reject", "abuse"],
        &["partner", "Sender domain", "Partner.Example", "Allow", ""],
        &["spammer", "sender_address", "x@spam.example", "DISCARD", ""],
    ]);
    let done = import(b, &good, None).await.unwrap();
    assert_eq!(done, SmtpRulesImported { added: 3, removed: 0 });
    let rules = b.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items;
    let got: Vec<(u32, &str, &str)> = rules.iter().map(|r| (r.position, r.name.as_str(), r.value.as_str())).collect();
    assert_eq!(
        got,
        [
            (1, "existing", "old.example"),
            (2, "block-net", "203.0.113.0/24"),
            (3, "partner", "partner.example"),
            (4, "spammer", "x@spam.example")
        ]
    );
    assert_eq!(rules[1].note, "abuse");
    assert_eq!(rules[2].action, SmtpRuleAction::Allow);

    // Appending the same file again: every row clashes with what is there.
    let audit = h.audit_count().await;
    let e = refused(import(b, &good, Some(SmtpImportMode::Append)).await, ErrorCode::Validation, "6 problems");
    assert!(e.rows.iter().all(|r| r.message.contains("already taken") || r.message.contains("never be reached")));
    assert_eq!(e.rows.iter().filter(|r| r.column == "Value").count(), 3, "{:?}", e.rows);

    // Bad rows: every problem by row and column, nothing written.
    let bad = file(&[
        &["ok", "client_ip", "192.0.2.1", "reject", ""],
        &["", "client_ip", "192.0.2.300", "block", ""],
        &["dup", "ip address", "x", "reject", ""],
        &["dup", "sender_domain", "example.com", "allow", ""],
        &["twin", "client_ip", "192.0.2.1/32", "reject", ""],
    ]);
    let e = refused(import(b, &bad, Some(SmtpImportMode::Replace)).await, ErrorCode::Validation, "nothing was written");
    let cells: Vec<(u32, &str)> = e.rows.iter().map(|r| (r.row, r.column.as_str())).collect();
    assert_eq!(
        cells,
        [(3, "Name"), (3, "Value"), (3, "Action"), (4, "Kind"), (5, "Name"), (6, "Value")],
        "{:?}",
        e.rows
    );
    assert!(e.rows[1].message.contains("not an IP"), "{:?}", e.rows[1]);
    assert!(e.rows[3].message.contains("sender_address, sender_domain or client_ip"));
    assert!(e.rows[5].message.contains("row 2"), "{:?}", e.rows[5]);

    // Not an XLSX file; an empty one.
    refused(import(b, b"Name,Kind\nx,client_ip\n", None).await, ErrorCode::Validation, "not an XLSX file");
    refused(import(b, &file(&[]), None).await, ErrorCode::Validation, "no rules below the header");
    let wrong_header = xlsx(&[vec!["Email address".into()], vec!["x".into()]]);
    refused(import(b, &wrong_header, None).await, ErrorCode::Validation, "wrong header");
    assert_eq!(h.audit_count().await, audit, "refusals audit nothing");
    assert_eq!(b.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items, rules, "refusals change nothing");

    // Replace: the file's rules instead of the old ones (names may repeat the old ones).
    let replacement = file(&[
        &["existing", "client_ip", "198.51.100.9", "allow", ""],
        &["spammer", "sender_domain", "spam.example", "reject", ""],
    ]);
    let done = import(b, &replacement, Some(SmtpImportMode::Replace)).await.unwrap();
    assert_eq!(done, SmtpRulesImported { added: 2, removed: 4 });
    let now: Vec<(u32, String, String)> = b
        .list_smtp_rules(ListSmtpRules::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| (r.position, r.name, r.value))
        .collect();
    assert_eq!(now, [(1, "existing".into(), "198.51.100.9".into()), (2, "spammer".into(), "spam.example".into())]);
    let entry = &b
        .list_audit(ListAudit { action: Some("import_smtp_rules".into()), ..Default::default() })
        .await
        .unwrap()
        .items[0];
    assert_eq!(entry.before.as_ref().unwrap().as_array().unwrap().len(), 4, "replace records what it removed");
    assert_eq!(entry.after.as_ref().unwrap()["added"], 2);
}

fn read_back(content_base64: &str) -> (Vec<Vec<String>>, bool, usize) {
    let bytes = base64::engine::general_purpose::STANDARD.decode(content_base64).unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheets = book.sheet_names().len();
    let formulas = book.worksheet_formula("Rules").unwrap();
    let any_formula = formulas.used_cells().any(|(_, _, f)| !f.is_empty());
    let range = book.worksheet_range("Rules").unwrap();
    (range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(), any_formula, sheets)
}

async fn exports_read_back_as_values_and_import_again(h: Harness) {
    let b = h.owner.as_ref();
    let formula = "=cmd|'/C calc'!A0";
    b.add_smtp_rule(AddSmtpRule {
        note: Some("@SUM(1+1)".into()),
        ..add(formula, SmtpRuleKind::ClientIp, "192.0.2.0/24", SmtpRuleAction::Reject)
    })
    .await
    .unwrap();
    b.add_smtp_rule(add("partner", SmtpRuleKind::SenderDomain, "partner.example", SmtpRuleAction::Allow))
        .await
        .unwrap();
    let exported = b.export_smtp_rules(ExportSmtpRules {}).await.unwrap();
    assert_eq!(exported.rows, 2);
    assert!(exported.file_name.ends_with(".xlsx"));
    let (rows, any_formula, _) = read_back(&exported.content_base64);
    assert!(!any_formula, "no cell is a formula");
    assert_eq!(rows[0], header());
    assert_eq!(rows[1], [formula, "client_ip", "192.0.2.0/24", "reject", "@SUM(1+1)"]);
    assert_eq!(rows[2], ["partner", "sender_domain", "partner.example", "allow", ""]);

    // The export imports back as it is (replace).
    let bytes = base64::engine::general_purpose::STANDARD.decode(&exported.content_base64).unwrap();
    let before = b.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items;
    import(b, &bytes, Some(SmtpImportMode::Replace)).await.unwrap();
    let after = b.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items;
    let key = |r: &SmtpRule| (r.position, r.name.clone(), r.kind, r.value.clone(), r.action, r.note.clone());
    assert_eq!(after.iter().map(key).collect::<Vec<_>>(), before.iter().map(key).collect::<Vec<_>>());

    // The template: the header, and a sheet of instructions; it imports as "no rules".
    let template = b.smtp_rules_template(SmtpRulesTemplate {}).await.unwrap();
    let (rows, _, sheets) = read_back(&template.content_base64);
    assert_eq!((rows.len(), sheets), (1, 2));
    assert_eq!(rows[0], header());
    let bytes = base64::engine::general_purpose::STANDARD.decode(&template.content_base64).unwrap();
    refused(import(b, &bytes, None).await, ErrorCode::Validation, "no rules below the header");
}

async fn status_without_a_mail_server_is_not_running_and_zero(h: Harness) {
    let status = h.owner.get_smtp_status(GetSmtpStatus {}).await.unwrap();
    assert!(!status.running);
    assert!(status.listeners.is_empty() && status.last_refusals.is_empty());
    assert_eq!(status.counters, SmtpCounters::default());
    assert_eq!(status.delivery, SmtpDeliveryStats::default());
    assert_eq!(status.outbound, SmtpOutboundStats::default());
}

async fn helpdesk_reads_and_domain_admins_are_refused(h: Harness) {
    h.domain("a.example", 10).await;
    let rule =
        h.owner.add_smtp_rule(add("block", SmtpRuleKind::ClientIp, "192.0.2.1", SmtpRuleAction::Reject)).await.unwrap();
    let good = file(&[&["x", "client_ip", "192.0.2.2", "reject", ""]]);
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Smtp], None).await;
    let (scoped, _) = h.admin("scoped", Role::Admin, &Page::ALL, Some(&["a.example"])).await;
    let (other, _) = h.admin("other", Role::Admin, &[Page::Accounts], None).await;
    let (smtp_admin, _) = h.admin("postmaster", Role::Admin, &[Page::Smtp], None).await;
    let audit = h.audit_count().await;

    // Helpdesk reads everything…
    desk.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    assert_eq!(desk.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items.len(), 1);
    desk.get_smtp_status(GetSmtpStatus {}).await.unwrap();
    desk.export_smtp_rules(ExportSmtpRules {}).await.unwrap();
    desk.smtp_rules_template(SmtpRulesTemplate {}).await.unwrap();
    // …and changes nothing.
    let denied = ErrorCode::PermissionDenied;
    let settings = || UpdateSmtpSettings { settings: SmtpSettings::default() };
    refused(desk.update_smtp_settings(settings()).await, denied, "helpdesk");
    refused(
        desk.add_smtp_rule(add("y", SmtpRuleKind::ClientIp, "192.0.2.3", SmtpRuleAction::Reject)).await,
        denied,
        "helpdesk",
    );
    refused(desk.update_smtp_rule(update(rule.id)).await, denied, "helpdesk");
    refused(desk.move_smtp_rule(MoveSmtpRule { id: rule.id, position: 1 }).await, denied, "helpdesk");
    refused(desk.remove_smtp_rule(RemoveSmtpRule { id: rule.id }).await, denied, "helpdesk");
    refused(import(desk.as_ref(), &good, None).await, denied, "helpdesk");

    // A sub-admin of one domain: server-wide settings are not its business, not even to read.
    refused(scoped.get_smtp_settings(GetSmtpSettings {}).await, denied, "all of them");
    refused(scoped.list_smtp_rules(ListSmtpRules::default()).await, denied, "all of them");
    refused(scoped.get_smtp_status(GetSmtpStatus {}).await, denied, "all of them");
    refused(scoped.update_smtp_settings(settings()).await, denied, "all of them");
    // An admin of all domains without the page.
    refused(other.get_smtp_settings(GetSmtpSettings {}).await, denied, "smtp page");
    assert_eq!(h.audit_count().await, audit, "refusals audit nothing");

    // An admin of all domains with the page may change.
    smtp_admin.update_smtp_settings(settings()).await.unwrap();
    import(smtp_admin.as_ref(), &good, None).await.unwrap();
    assert_eq!(h.owner.list_smtp_rules(ListSmtpRules::default()).await.unwrap().items.len(), 2);
}
