//! The `Backend` contract for batch settings, the address book and the policy explainer:
//! every test runs on the in-process backend and on the remote client against
//! the real server over TLS on loopback. The route-by-route 403 table for these
//! operations is in `contract.rs` with all the others.

use postdesk_contract::ErrorCode;
use postdesk_contract::api::*;
use postdesk_contract::mail::{LoginAttempt, LoginService};
use postdesk_contract::model::*;
use postdesk_contract::policy::{ClientProtocol, PolicyExplanation, PolicyRule};
use postdesk_contract::settings::*;
use postdesk_engine::{Login, LoginRefusal};
use postdesk_tests::{Harness, new_account, refused};

use postdesk_tests::contract;

contract!(
    mail_rules_are_changed_in_place_with_the_checks_of_adding_them,
    settings_inherit_from_domain_to_department_to_account,
    a_department_batch_sets_one_value_and_replaces_overrides_below,
    a_department_batch_is_one_transaction_and_one_audit_entry,
    password_resets_unlock_and_are_not_undoable,
    undo_restores_the_before_state_exactly,
    undo_is_refused_when_something_changed_since,
    security_questions_are_cleared_by_an_admin,
    lockout_threshold_is_a_domain_setting,
    address_book_lists_visible_accounts_by_department,
    policy_explains_with_the_deciding_setting_and_its_source,
    policy_explains_the_mail_rules_that_act_on_a_message,
    disclaimer_rules_are_checked_ordered_audited_and_explained,
    monitor_rules_are_checked_audited_and_explained,
    helpdesk_may_look_and_explain_but_not_change_settings,
);

const D: &str = "example.com";

fn settings(json: serde_json::Value) -> Settings {
    serde_json::from_value(json).expect("settings")
}

fn dept(path: &str) -> BatchTarget {
    BatchTarget::Department { path: path.into(), subdepartments: None }
}

fn accounts(addresses: &[&str]) -> BatchTarget {
    BatchTarget::Accounts { addresses: addresses.iter().map(|a| a.to_string()).collect() }
}

fn set(target: BatchTarget, values: serde_json::Value) -> UpdateSettings {
    UpdateSettings { domain: D.into(), target, set: Some(settings(values)), ..Default::default() }
}

fn clear(target: BatchTarget, keys: &[SettingKey]) -> UpdateSettings {
    UpdateSettings { domain: D.into(), target, clear: Some(keys.to_vec()), ..Default::default() }
}

async fn effective(h: &Harness, address: &str) -> EffectiveValues {
    h.owner.get_effective_settings(GetEffectiveSettings { address: address.into() }).await.expect("effective").values
}

async fn level(h: &Harness, department: Option<&str>, account: Option<&str>) -> LevelSettings {
    h.owner
        .get_settings(GetSettings {
            domain: D.into(),
            department: department.map(String::from),
            account: account.map(String::from),
        })
        .await
        .expect("level settings")
}

/// example.com with Sales, Sales/East, Sales/East/North and Support, and ann (North),
/// bob (Sales), carl (top level), dora (Support).
async fn organisation(h: &Harness) {
    h.domain(D, 1000).await;
    for path in ["Sales/East/North", "Support"] {
        h.owner
            .create_department(CreateDepartment { domain: D.into(), path: path.into(), parents: Some(true) })
            .await
            .expect("department");
    }
    h.account("ann@example.com", Some("Sales/East/North")).await;
    h.account("bob@example.com", Some("Sales")).await;
    h.account("carl@example.com", None).await;
    h.account("dora@example.com", Some("Support")).await;
}

async fn batches(h: &Harness) -> Vec<Batch> {
    h.owner.list_batches(ListBatches { domain: D.into(), ..Default::default() }).await.expect("batches").items
}

async fn settings_inherit_from_domain_to_department_to_account(h: Harness) {
    organisation(&h).await;
    let e = effective(&h, "ann@example.com").await;
    assert_eq!(e.values(), ResolvedSettings::default(), "nothing set: built-in defaults");
    assert_eq!(e.external_send.source.level, SettingLevel::BuiltIn);

    h.owner.update_settings(set(BatchTarget::Domain, serde_json::json!({ "external_send": false }))).await.unwrap();
    let e = effective(&h, "ann@example.com").await;
    assert_eq!((e.external_send.value, e.external_send.source.level), (false, SettingLevel::Domain));

    let sales = serde_json::json!({ "external_send": true, "send_exceptions": ["Partner.example"] });
    h.owner.update_settings(set(dept("sales"), sales)).await.unwrap();
    h.owner.update_settings(set(dept("Sales/East"), serde_json::json!({ "pop3": false }))).await.unwrap();
    h.owner.update_settings(set(accounts(&["ANN@example.com"]), serde_json::json!({ "imap": false }))).await.unwrap();

    let e = effective(&h, "ann@example.com").await;
    assert_eq!((e.external_send.value, e.external_send.source.clone()), (true, SettingSource::department("Sales")));
    assert_eq!(e.send_exceptions.value, ["partner.example"], "canonical");
    assert_eq!((e.pop3.value, e.pop3.source.clone()), (false, SettingSource::department("Sales/East")));
    assert_eq!((e.imap.value, e.imap.source.level), (false, SettingLevel::Account));
    assert_eq!(e.smtp.source.level, SettingLevel::BuiltIn);
    let full =
        h.owner.get_effective_settings(GetEffectiveSettings { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!(full.department.as_deref(), Some("Sales/East/North"));
    // bob sits in Sales: Sales/East's value is not his; carl is at the top level.
    let bob = effective(&h, "bob@example.com").await;
    assert_eq!((bob.pop3.value, bob.external_send.value), (true, true));
    let carl = effective(&h, "carl@example.com").await;
    assert_eq!((carl.external_send.value, carl.external_send.source.level), (false, SettingLevel::Domain));

    // An account's override wins, and clearing it inherits again.
    h.owner.update_settings(set(accounts(&["ann@example.com"]), serde_json::json!({ "pop3": true }))).await.unwrap();
    assert_eq!(effective(&h, "ann@example.com").await.pop3.source.level, SettingLevel::Account);
    h.owner.update_settings(clear(accounts(&["ann@example.com"]), &[SettingKey::Pop3])).await.unwrap();
    assert_eq!(effective(&h, "ann@example.com").await.pop3.source, SettingSource::department("Sales/East"));

    // What each level sets, and what it inherits from above.
    let d = level(&h, None, None).await;
    assert_eq!((d.level, d.settings.external_send, d.accounts), (SettingLevel::Domain, Some(false), 4));
    let east = level(&h, Some("Sales/East"), None).await;
    assert_eq!(east.settings, settings(serde_json::json!({ "pop3": false })));
    assert_eq!(east.inherited.external_send.source, SettingSource::department("Sales"));
    assert_eq!(east.accounts, 1);
    let ann = level(&h, None, Some("ann@example.com")).await;
    assert_eq!(ann.settings, settings(serde_json::json!({ "imap": false })));
    assert_eq!(ann.inherited.pop3.source, SettingSource::department("Sales/East"));

    // Refusals, with the field the user got wrong; nothing is recorded.
    let audit = h.audit_count().await;
    let e =
        h.owner.update_settings(set(dept("Sales"), serde_json::json!({ "lockout_threshold": 3 }))).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Validation, Some("lockout_threshold")));
    let e = h
        .owner
        .update_settings(set(BatchTarget::Domain, serde_json::json!({ "receive_exceptions": ["no such thing"] })))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Validation, Some("receive_exceptions")));
    refused(
        h.owner.update_settings(set(dept("Nowhere"), serde_json::json!({ "pop3": false }))).await,
        ErrorCode::NotFound,
        "department Nowhere does not exist",
    );
    refused(
        h.owner
            .update_settings(set(
                accounts(&["ann@example.com", "zed@example.com"]),
                serde_json::json!({ "pop3": false }),
            ))
            .await,
        ErrorCode::NotFound,
        "account 2 (zed@example.com)",
    );
    refused(
        h.owner.update_settings(set(accounts(&["x@other.example"]), serde_json::json!({ "pop3": false }))).await,
        ErrorCode::Validation,
        "not in example.com",
    );
    refused(
        h.owner
            .update_settings(UpdateSettings { domain: D.into(), target: BatchTarget::Domain, ..Default::default() })
            .await,
        ErrorCode::Validation,
        "nothing to change",
    );
    assert_eq!(h.audit_count().await, audit, "refusals record nothing");
    assert!(!effective(&h, "ann@example.com").await.pop3.value, "refused batches changed nothing");

    // Inheritance follows the tree: moving a department moves its accounts' sources along.
    h.owner
        .move_department(MoveDepartment {
            domain: D.into(),
            path: "Sales/East".into(),
            new_parent: Some("Support".into()),
        })
        .await
        .unwrap();
    let e = effective(&h, "ann@example.com").await;
    assert_eq!(
        (e.external_send.value, e.external_send.source.level),
        (false, SettingLevel::Domain),
        "no longer in Sales"
    );
    assert_eq!(e.pop3.source, SettingSource::department("Support/East"), "East's own override travels with it");
    h.owner
        .move_department(MoveDepartment {
            domain: D.into(),
            path: "Support/East".into(),
            new_parent: Some("Sales".into()),
        })
        .await
        .unwrap();

    // Setting what is already there changes nothing and records nothing.
    let audit = h.audit_count().await;
    let same = h.owner.update_settings(set(dept("Sales/East"), serde_json::json!({ "pop3": false }))).await.unwrap();
    assert!(same.batch.is_none(), "{same:?}");
    assert!(same.message.contains("nothing changed"), "{}", same.message);
    assert_eq!(h.audit_count().await, audit);
}

async fn a_department_batch_sets_one_value_and_replaces_overrides_below(h: Harness) {
    organisation(&h).await;
    // Overrides below Sales: a sub-department's and an account's.
    h.owner.update_settings(set(dept("Sales/East"), serde_json::json!({ "auto_forward": false }))).await.unwrap();
    h.owner
        .update_settings(set(accounts(&["ann@example.com"]), serde_json::json!({ "auto_forward": true })))
        .await
        .unwrap();
    h.owner
        .update_settings(set(accounts(&["dora@example.com"]), serde_json::json!({ "auto_forward": true })))
        .await
        .unwrap();
    let below = level(&h, Some("Sales"), None).await.below;
    assert_eq!(below, [OverridesBelow { key: SettingKey::AutoForward, departments: 1, accounts: 1 }]);

    // Without sub-departments: set at Sales only; East and ann keep theirs.
    let only = BatchTarget::Department { path: "Sales".into(), subdepartments: Some(false) };
    let out = h.owner.update_settings(set(only, serde_json::json!({ "auto_forward": false }))).await.unwrap();
    assert_eq!(out.batch.as_ref().unwrap().changes, 1);
    assert_eq!(effective(&h, "ann@example.com").await.auto_forward.source.level, SettingLevel::Account);

    // With sub-departments (the default): one value at Sales, the overrides below go;
    // dora, in Support, keeps hers.
    let out = h.owner.update_settings(set(dept("Sales"), serde_json::json!({ "auto_forward": true }))).await.unwrap();
    let batch = out.batch.unwrap();
    assert_eq!((batch.changes, batch.accounts), (3, 2), "{batch:?}");
    assert!(batch.summary.contains("removed 2 overrides below"), "{}", batch.summary);
    for who in ["ann@example.com", "bob@example.com"] {
        let e = effective(&h, who).await;
        assert_eq!((e.auto_forward.value, e.auto_forward.source.clone()), (true, SettingSource::department("Sales")));
    }
    assert_eq!(effective(&h, "dora@example.com").await.auto_forward.source.level, SettingLevel::Account);

    // No per-account fan-out: below the domain there is one department override and dora's.
    let domain = level(&h, None, None).await;
    assert_eq!(domain.below, [OverridesBelow { key: SettingKey::AutoForward, departments: 1, accounts: 1 }]);
}

async fn a_department_batch_is_one_transaction_and_one_audit_entry(h: Harness) {
    organisation(&h).await;
    let many: Vec<CreateAccount> = (0..40)
        .map(|i| new_account(&format!("user{i:02}@example.com"), Some(["Sales/East", "Sales/East/North"][i % 2])))
        .collect();
    h.owner.create_accounts(CreateAccounts { domain: D.into(), accounts: many }).await.unwrap();
    let before = h.audit_count().await;
    let values = serde_json::json!({ "external_send": false, "send_exceptions": ["partner.example"], "smtp": false });
    let out = h.owner.update_settings(set(dept("Sales"), values)).await.unwrap();
    let batch = out.batch.unwrap();
    assert_eq!((batch.accounts, batch.changes, batch.undo), (42, 3, UndoState::Available));
    assert_eq!(h.audit_count().await, before + 1, "one audit entry for the whole batch");
    let entry = h
        .owner
        .list_audit(ListAudit { domain: Some(D.into()), limit: Some(1), ..Default::default() })
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(entry.action, "update_settings");
    assert_eq!(entry.target, format!("batch {}: department Sales with its sub-departments", batch.id));
    assert_eq!(entry.after.as_ref().unwrap()["department Sales"]["external_send"], false);
    assert_eq!(entry.before.as_ref().unwrap()["department Sales"]["smtp"], serde_json::Value::Null);
    for i in [0, 1, 39] {
        assert!(!effective(&h, &format!("user{i:02}@example.com")).await.smtp.value);
    }

    // A batch with one bad row changes nothing at all (one transaction).
    let rows: Vec<String> =
        (0..40).map(|i| format!("user{i:02}@example.com")).chain(["ghost@example.com".into()]).collect();
    let bad = UpdateSettings {
        domain: D.into(),
        target: BatchTarget::Accounts { addresses: rows },
        set: Some(settings(serde_json::json!({ "pop3": false }))),
        ..Default::default()
    };
    refused(h.owner.update_settings(bad).await, ErrorCode::NotFound, "account 41 (ghost@example.com)");
    assert!(effective(&h, "user00@example.com").await.pop3.value, "nothing half-done");
    assert_eq!(h.audit_count().await, before + 1);
    assert_eq!(batches(&h).await.len(), 1);

    // A password reset of the department: one batch, one audit entry, each account its own hash.
    let reset = ResetPasswords {
        domain: D.into(),
        target: dept("Sales/East"),
        password: Password("Fresh start 42".into()),
        force_password_change: Some(true),
    };
    let out = h.owner.reset_passwords(reset).await.unwrap();
    let batch = out.batch.unwrap();
    assert_eq!((batch.accounts, batch.undo), (41, UndoState::NotUndoable), "{batch:?}");
    assert_eq!(h.audit_count().await, before + 2);
    // The new password is right, and POP3 (which SMTP's switch-off in Sales leaves on)
    // refuses it until the user changes it.
    let pop3 = LoginAttempt { service: LoginService::Pop3, ..smtp_login("user07@example.com", "Fresh start 42") };
    assert_eq!(h.engine.verify_login(pop3).await.unwrap(), Login::Refused(LoginRefusal::PasswordChangeRequired));
    assert_eq!(
        h.engine.verify_login(smtp_login("bob@example.com", "Fresh start 42")).await.unwrap(),
        Login::Refused(LoginRefusal::WrongCredentials),
        "bob is in Sales, above the target"
    );
}

async fn password_resets_unlock_and_are_not_undoable(h: Harness) {
    organisation(&h).await;
    let p = CreateAccount {
        address: "eve@example.com".into(),
        department: Some("Support".into()),
        password: Some(Password("Old password 1".into())),
        ..Default::default()
    };
    h.owner.create_account(p).await.unwrap();
    // Her client is kept out after five wrong passwords, and an admin locks the account.
    for _ in 0..5 {
        h.engine.verify_login(smtp_login("eve@example.com", "wrong")).await.unwrap();
    }
    let lock =
        UpdateAccount { address: "eve@example.com".into(), status: Some(AccountStatus::Locked), ..Default::default() };
    h.owner.update_account(lock).await.unwrap();
    let status = |a: &str| {
        let a = a.to_string();
        let b = h.owner.clone();
        async move { b.get_account(GetAccount { address: a }).await.unwrap().status }
    };
    assert_eq!(status("eve@example.com").await, AccountStatus::Locked);
    let audit = h.audit_count().await;
    let weak = ResetPasswords {
        domain: D.into(),
        target: accounts(&["eve@example.com"]),
        password: Password("weak".into()),
        ..Default::default()
    };
    let e = h.owner.reset_passwords(weak).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Validation, Some("password")));
    let whole_domain = ResetPasswords {
        domain: D.into(),
        target: BatchTarget::Domain,
        password: Password("Good password 9".into()),
        ..Default::default()
    };
    refused(h.owner.reset_passwords(whole_domain).await, ErrorCode::Validation, "choose a department or accounts");
    assert_eq!(h.audit_count().await, audit);

    let reset = ResetPasswords {
        domain: D.into(),
        target: accounts(&["eve@example.com", "dora@example.com"]),
        password: Password("Good password 9".into()),
        ..Default::default()
    };
    let out = h.owner.reset_passwords(reset).await.unwrap();
    let batch = out.batch.unwrap();
    assert!(batch.summary.contains("reset 2 passwords, unlocked 1"), "{}", batch.summary);
    assert_eq!(status("eve@example.com").await, AccountStatus::Active);
    assert!(matches!(
        h.engine.verify_login(smtp_login("eve@example.com", "Good password 9")).await.unwrap(),
        Login::Accepted { force_password_change: false, .. }
    ));
    refused(
        h.owner.undo_batch(UndoBatch { domain: D.into(), id: batch.id }).await,
        ErrorCode::Conflict,
        "a password reset cannot be undone",
    );
    let audit =
        serde_json::to_string(&h.owner.list_audit(ListAudit { limit: Some(100), ..Default::default() }).await.unwrap())
            .unwrap();
    assert!(!audit.contains("Good password 9") && !audit.contains("argon2"), "{audit}");
    assert!(audit.contains("\"unlocked\":[\"eve@example.com\"]"), "{audit}");
}

async fn undo_restores_the_before_state_exactly(h: Harness) {
    organisation(&h).await;
    h.owner.update_settings(set(BatchTarget::Domain, serde_json::json!({ "external_send": false }))).await.unwrap();
    h.owner
        .update_settings(set(dept("Sales/East"), serde_json::json!({ "external_send": true, "imap": false })))
        .await
        .unwrap();
    h.owner
        .update_settings(set(accounts(&["ann@example.com"]), serde_json::json!({ "external_send": false })))
        .await
        .unwrap();
    let snapshot = |h: &Harness| {
        let b = h.owner.clone();
        async move {
            let mut out = Vec::new();
            for who in ["ann@example.com", "bob@example.com", "carl@example.com", "dora@example.com"] {
                out.push(b.get_effective_settings(GetEffectiveSettings { address: who.into() }).await.unwrap());
            }
            for path in [None, Some("Sales"), Some("Sales/East")] {
                let l = b
                    .get_settings(GetSettings {
                        domain: D.into(),
                        department: path.map(String::from),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                out.push(EffectiveSettings {
                    address: format!("{path:?}"),
                    department: None,
                    security_questions_set: false,
                    values: EffectiveValues::resolve(&[(SettingSource::domain(), &l.settings)]),
                });
            }
            out
        }
    };
    let before = snapshot(&h).await;

    // Sales with sub-departments: sets two keys at Sales, removes East's and ann's external_send.
    let out = h
        .owner
        .update_settings(set(dept("Sales"), serde_json::json!({ "external_send": true, "pop3": false })))
        .await
        .unwrap();
    let batch = out.batch.unwrap();
    assert_eq!(batch.changes, 4, "{batch:?}");
    assert_ne!(snapshot(&h).await, before);
    let latest = batches(&h).await;
    assert_eq!((latest[0].id, latest[0].undo), (batch.id, UndoState::Available));

    let audit = h.audit_count().await;
    let undone = h.owner.undo_batch(UndoBatch { domain: D.into(), id: batch.id }).await.unwrap();
    assert_eq!(undone.batch.as_ref().unwrap().undo, UndoState::Undone);
    assert_eq!(snapshot(&h).await, before, "exactly the before-state");
    assert_eq!(h.audit_count().await, audit + 1, "the undo is recorded once");
    let listed = batches(&h).await;
    assert_eq!(listed[0].undo, UndoState::Undone);
    assert!(listed[0].note.as_deref().unwrap_or("").contains("undone by"), "{:?}", listed[0].note);
    refused(h.owner.undo_batch(UndoBatch { domain: D.into(), id: batch.id }).await, ErrorCode::Conflict, "undone by");
    refused(h.owner.undo_batch(UndoBatch { domain: D.into(), id: 999 }).await, ErrorCode::NotFound, "batch 999");

    // An older batch whose values are still in place can be undone as well.
    let first = listed.last().unwrap().id;
    h.owner.undo_batch(UndoBatch { domain: D.into(), id: first }).await.unwrap();
    assert_eq!(effective(&h, "carl@example.com").await.external_send.source.level, SettingLevel::BuiltIn);
}

async fn undo_is_refused_when_something_changed_since(h: Harness) {
    organisation(&h).await;
    let out = h
        .owner
        .update_settings(set(accounts(&["ann@example.com", "bob@example.com"]), serde_json::json!({ "pop3": false })))
        .await
        .unwrap();
    let id = out.batch.unwrap().id;
    h.owner.update_settings(set(accounts(&["bob@example.com"]), serde_json::json!({ "pop3": true }))).await.unwrap();
    let audit = h.audit_count().await;
    refused(
        h.owner.undo_batch(UndoBatch { domain: D.into(), id }).await,
        ErrorCode::Conflict,
        "1 of its 2 changes were changed since (account bob@example.com: pop3 is now true); nothing was changed",
    );
    assert!(!effective(&h, "ann@example.com").await.pop3.value, "ann untouched");
    assert_eq!(h.audit_count().await, audit);

    // A department removed since counts as changed too.
    h.owner
        .create_department(CreateDepartment { domain: D.into(), path: "Temp".into(), ..Default::default() })
        .await
        .unwrap();
    let id = h
        .owner
        .update_settings(set(dept("Temp"), serde_json::json!({ "imap": false })))
        .await
        .unwrap()
        .batch
        .unwrap()
        .id;
    h.owner.update_settings(clear(dept("Temp"), &[SettingKey::Imap])).await.unwrap();
    h.owner.remove_department(RemoveDepartment { domain: D.into(), path: "Temp".into() }).await.unwrap();
    refused(h.owner.undo_batch(UndoBatch { domain: D.into(), id }).await, ErrorCode::Conflict, "no longer exists");
}

async fn security_questions_are_cleared_by_an_admin(h: Harness) {
    organisation(&h).await;
    for who in ["ann@example.com", "bob@example.com"] {
        h.engine.record_security_questions(who).await.unwrap();
    }
    let set_for = |who: &str| {
        let b = h.owner.clone();
        let who = who.to_string();
        async move { b.get_effective_settings(GetEffectiveSettings { address: who }).await.unwrap().security_questions_set }
    };
    assert!(set_for("ann@example.com").await);
    let out = h
        .owner
        .clear_security_questions(ClearSecurityQuestions { domain: D.into(), target: dept("Sales") })
        .await
        .unwrap();
    let batch = out.batch.unwrap();
    assert_eq!((batch.accounts, batch.changes, batch.undo), (2, 2, UndoState::NotUndoable));
    assert!(!set_for("ann@example.com").await && !set_for("bob@example.com").await);
    let again = h
        .owner
        .clear_security_questions(ClearSecurityQuestions { domain: D.into(), target: dept("Sales") })
        .await
        .unwrap();
    assert!(again.batch.is_none() && again.message.contains("no account"), "{again:?}");
    refused(
        h.owner.undo_batch(UndoBatch { domain: D.into(), id: batch.id }).await,
        ErrorCode::Conflict,
        "answers are gone",
    );
    // The requirement itself is a setting like the others.
    h.owner
        .update_settings(set(
            dept("Sales"),
            serde_json::json!({ "require_security_questions": true, "require_phone": true, "allow_phone_unbinding": true }),
        ))
        .await
        .unwrap();
    let e = effective(&h, "ann@example.com").await;
    assert!(e.require_security_questions.value && e.require_phone.value && e.allow_phone_unbinding.value);
    assert!(!effective(&h, "carl@example.com").await.require_phone.value);
}

async fn lockout_threshold_is_a_domain_setting(h: Harness) {
    h.domain(D, 10).await;
    let p = CreateAccount {
        address: "ann@example.com".into(),
        password: Some(Password("Right password 1".into())),
        ..Default::default()
    };
    h.owner.create_account(p).await.unwrap();
    h.owner.update_settings(set(BatchTarget::Domain, serde_json::json!({ "lockout_threshold": 2 }))).await.unwrap();
    assert_eq!(effective(&h, "ann@example.com").await.lockout_threshold.value, 2);
    for _ in 0..2 {
        h.engine.verify_login(smtp_login("ann@example.com", "wrong")).await.unwrap();
    }
    assert_eq!(
        h.engine.verify_login(smtp_login("ann@example.com", "Right password 1")).await.unwrap(),
        Login::Refused(LoginRefusal::WrongCredentials),
        "the client that failed twice is kept out"
    );
    let elsewhere =
        LoginAttempt { client: [192, 0, 2, 80].into(), ..smtp_login("ann@example.com", "Right password 1") };
    assert!(matches!(h.engine.verify_login(elsewhere).await.unwrap(), Login::Accepted { .. }));
}

async fn address_book_lists_visible_accounts_by_department(h: Harness) {
    organisation(&h).await;
    let named = CreateAccount {
        address: "zoe@example.com".into(),
        display_name: Some("Zoë Adams".into()),
        department: Some("Sales".into()),
        ..Default::default()
    };
    h.owner.create_account(named).await.unwrap();
    h.account("off@example.com", Some("Support")).await;
    let off = UpdateAccount {
        address: "off@example.com".into(),
        status: Some(AccountStatus::Disabled),
        ..Default::default()
    };
    h.owner.update_account(off).await.unwrap();
    h.owner.update_settings(set(dept("Sales"), serde_json::json!({ "address_book": false }))).await.unwrap();
    h.owner
        .update_settings(set(accounts(&["bob@example.com"]), serde_json::json!({ "address_book": true })))
        .await
        .unwrap();

    let book = h.owner.list_address_book(ListAddressBook { domain: D.into(), ..Default::default() }).await.unwrap();
    let shown: Vec<(Option<&str>, Vec<&str>)> = book
        .departments
        .iter()
        .map(|d| (d.department.as_deref(), d.entries.iter().map(|e| e.address.as_str()).collect()))
        .collect();
    assert_eq!(
        shown,
        [
            (None, vec!["carl@example.com"]),
            (Some("Sales"), vec!["bob@example.com"]),
            (Some("Support"), vec!["dora@example.com"]),
        ]
    );
    assert_eq!((book.shown, book.hidden), (3, 2), "ann and zoe hidden; the disabled account is not counted");
    assert_eq!(book.next, None, "one page holds it all");

    // A page at a time: the same entries in the same order, a department continuing on the
    // next page, the totals on every page.
    let page = |after: Option<String>| {
        let b = h.owner.clone();
        async move {
            b.list_address_book(ListAddressBook { domain: D.into(), after, limit: Some(2), ..Default::default() })
                .await
                .unwrap()
        }
    };
    let first = page(None).await;
    let flat = |b: &AddressBook| -> Vec<String> {
        b.departments.iter().flat_map(|d| d.entries.iter().map(|e| e.address.clone())).collect()
    };
    assert_eq!(flat(&first), ["carl@example.com", "bob@example.com"]);
    assert_eq!((first.shown, first.hidden), (3, 2));
    let second = page(first.next.clone()).await;
    assert_eq!(flat(&second), ["dora@example.com"]);
    assert_eq!(second.departments[0].department.as_deref(), Some("Support"));
    assert_eq!(second.next, None);
    // Bad paging parameters are refused at their field.
    for (p, field) in [
        (ListAddressBook { domain: D.into(), limit: Some(0), ..Default::default() }, "limit"),
        (ListAddressBook { domain: D.into(), limit: Some(1001), ..Default::default() }, "limit"),
        (ListAddressBook { domain: D.into(), after: Some("bob".into()), ..Default::default() }, "after"),
        (ListAddressBook { domain: D.into(), query: Some("x".repeat(201)), ..Default::default() }, "query"),
    ] {
        let e = h.owner.list_address_book(p).await.unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Validation, Some(field)), "{}", e.message);
    }
    // A search over the whole book, by name or address, in any case.
    let found = h
        .owner
        .list_address_book(ListAddressBook { domain: D.into(), query: Some("DORA".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((flat(&found), found.shown), (vec!["dora@example.com".to_string()], 1));
    // Searched with a long or a short text, in any case, the same hidden count (of the whole
    // domain): a hidden account is not found by its name.
    for (q, expected) in [
        ("DORA", vec!["dora@example.com"]),
        ("bo", vec!["bob@example.com"]),
        ("zoë ad", vec![]),
        ("arl", vec!["carl@example.com"]),
    ] {
        let p = ListAddressBook { domain: D.into(), query: Some(q.into()), ..Default::default() };
        let found = h.owner.list_address_book(p).await.unwrap();
        assert_eq!(
            (flat(&found), found.shown, found.hidden),
            (expected.iter().map(|s| s.to_string()).collect(), expected.len() as u32, 2),
            "{q}"
        );
    }
    // A change shows at once on the next page asked for (the ranked book is made again), and
    // so does a new account.
    h.owner
        .update_settings(set(accounts(&["dora@example.com"]), serde_json::json!({ "address_book": false })))
        .await
        .unwrap();
    let book = h.owner.list_address_book(ListAddressBook { domain: D.into(), ..Default::default() }).await.unwrap();
    assert_eq!(flat(&book), ["carl@example.com", "bob@example.com"]);
    assert_eq!((book.shown, book.hidden), (2, 3));
    h.account("eve@example.com", None).await;
    let book = h.owner.list_address_book(ListAddressBook { domain: D.into(), ..Default::default() }).await.unwrap();
    assert_eq!(flat(&book), ["carl@example.com", "eve@example.com", "bob@example.com"]);
    assert_eq!((book.shown, book.hidden), (3, 3));
}

async fn explain(h: &Harness, p: ExplainPolicy) -> PolicyExplanation {
    h.owner.explain_policy(p).await.expect("explain")
}

fn message(from: &str, to: &[&str]) -> ExplainPolicy {
    ExplainPolicy { sender: from.into(), recipients: to.iter().map(|t| t.to_string()).collect(), ..Default::default() }
}

async fn policy_explains_with_the_deciding_setting_and_its_source(h: Harness) {
    organisation(&h).await;
    let sales =
        serde_json::json!({ "external_send": false, "send_exceptions": ["partner.example", "boss@far.example"] });
    h.owner.update_settings(set(dept("Sales"), sales)).await.unwrap();
    h.owner
        .update_settings(set(
            accounts(&["dora@example.com"]),
            serde_json::json!({ "external_receive": false, "pop3": false }),
        ))
        .await
        .unwrap();
    h.owner
        .create_group(CreateGroup {
            address: "team@example.com".into(),
            name: "Team".into(),
            members: Some(vec!["ann@example.com".into(), "dora@example.com".into()]),
            ..Default::default()
        })
        .await
        .unwrap();

    // ann (Sales/East/North) may not send outside, except to the exceptions.
    let x = explain(
        &h,
        message("Ann@Example.com", &["x@far.example", "y@partner.example", "boss@far.example", "bob@example.com"]),
    )
    .await;
    assert_eq!(
        (x.envelope.protocol, x.envelope.authenticated_user.as_deref()),
        (ClientProtocol::Smtp, Some("ann@example.com"))
    );
    let rules: Vec<(bool, PolicyRule)> = x.decision.recipients.iter().map(|r| (r.allowed, r.rule)).collect();
    assert_eq!(
        rules,
        [
            (false, PolicyRule::ExternalSend),
            (true, PolicyRule::SendExceptionDomain),
            (true, PolicyRule::SendExceptionAddress),
            (true, PolicyRule::Allowed),
        ]
    );
    let deciding = x.decision.recipients[0].setting.clone().unwrap();
    assert_eq!((deciding.account.as_str(), deciding.key), ("ann@example.com", SettingKey::ExternalSend));
    let ann = x.accounts.iter().find(|a| a.address == "ann@example.com").unwrap();
    assert_eq!(ann.values.external_send.source, SettingSource::department("Sales"), "traceable to its level");

    // Inbound: dora refuses mail from outside; the group (same domain only) refuses outsiders.
    let x = explain(
        &h,
        message("x@far.example", &["dora@example.com", "team@example.com", "nobody@example.com", "y@else.example"]),
    )
    .await;
    assert_eq!(x.envelope.protocol, ClientProtocol::Mx);
    let rules: Vec<(bool, PolicyRule)> = x.decision.recipients.iter().map(|r| (r.allowed, r.rule)).collect();
    assert_eq!(
        rules,
        [
            (false, PolicyRule::ExternalReceive),
            (false, PolicyRule::GroupSendPermission),
            (false, PolicyRule::UnknownRecipient),
            (false, PolicyRule::Relay),
        ]
    );
    // A colleague may write to the group; dora's receive restriction does not apply inside.
    let x = explain(&h, message("carl@example.com", &["team@example.com"])).await;
    let r = &x.decision.recipients[0];
    assert!(r.allowed, "{}", r.reason);
    assert_eq!(r.mailboxes.iter().filter(|m| m.allowed).count(), 2);

    // An unknown local part the catch-all collects is decided as its collector (dora
    // refuses mail from outside), as the SMTP service decides it.
    h.owner
        .update_mailbox_settings(UpdateMailboxSettings {
            domain: "example.com".into(),
            catch_all: Some(true),
            catch_all_target: Some("dora@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let x = explain(&h, message("x@far.example", &["nobody@example.com"])).await;
    let r = &x.decision.recipients[0];
    assert_eq!((r.allowed, r.rule), (false, PolicyRule::ExternalReceive), "{}", r.reason);
    assert_eq!(r.setting.as_ref().map(|s| s.account.as_str()), Some("dora@example.com"));
    let x = explain(&h, message("carl@example.com", &["nobody@example.com"])).await;
    assert!(x.decision.recipients[0].allowed, "{}", x.decision.recipients[0].reason);

    // Service switch and auto-forward.
    let pop =
        ExplainPolicy { protocol: Some(ClientProtocol::Pop3), ..message("dora@example.com", &["carl@example.com"]) };
    let r = &explain(&h, pop).await.decision.recipients[0];
    assert_eq!((r.allowed, r.rule), (false, PolicyRule::ClientProtocol));
    h.owner
        .update_settings(set(accounts(&["carl@example.com"]), serde_json::json!({ "auto_forward": false })))
        .await
        .unwrap();
    let fwd = ExplainPolicy {
        auto_forward: Some(true),
        protocol: Some(ClientProtocol::Mx),
        ..message("carl@example.com", &["x@far.example"])
    };
    let x = explain(&h, fwd).await;
    assert_eq!(
        (x.decision.recipients[0].rule, x.decision.acting_account.as_deref()),
        (PolicyRule::AutoForward, Some("carl@example.com"))
    );

    // Refusals.
    let bad = ExplainPolicy {
        authenticated_user: Some("ghost@example.com".into()),
        ..message("ann@example.com", &["x@far.example"])
    };
    let e = h.owner.explain_policy(bad).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Validation, Some("authenticated_user")));
    let e = h.owner.explain_policy(message("ann@example.com", &[])).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Validation, Some("recipients")));
    let e = h.owner.explain_policy(message("not an address", &["x@far.example"])).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Validation, Some("sender")));
}

async fn helpdesk_may_look_and_explain_but_not_change_settings(h: Harness) {
    organisation(&h).await;
    let pages = [Page::BatchSettings, Page::Policy, Page::AddressBook];
    let (desk, _) = h.admin("desk", Role::Helpdesk, &pages, None).await;
    desk.get_effective_settings(GetEffectiveSettings { address: "ann@example.com".into() }).await.unwrap();
    desk.list_batches(ListBatches { domain: D.into(), limit: Some(5), ..Default::default() }).await.unwrap();
    desk.list_address_book(ListAddressBook { domain: D.into(), ..Default::default() }).await.unwrap();
    desk.explain_policy(message("ann@example.com", &["x@far.example"])).await.unwrap();
    refused(
        desk.update_settings(set(dept("Sales"), serde_json::json!({ "pop3": false }))).await,
        ErrorCode::PermissionDenied,
        "helpdesk",
    );
    refused(
        desk.reset_passwords(ResetPasswords {
            domain: D.into(),
            target: dept("Sales"),
            password: Password("Helpdesk 123".into()),
            ..Default::default()
        })
        .await,
        ErrorCode::PermissionDenied,
        "helpdesk",
    );
    // Without the page: refused too.
    let (accounts_only, _) = h.admin("acc", Role::Admin, &[Page::Accounts], None).await;
    refused(
        accounts_only.get_effective_settings(GetEffectiveSettings { address: "ann@example.com".into() }).await,
        ErrorCode::PermissionDenied,
        "batch_settings page",
    );
    refused(
        accounts_only.explain_policy(message("ann@example.com", &["x@far.example"])).await,
        ErrorCode::PermissionDenied,
        "policy page",
    );
}

/// A login attempt over SMTP from loopback.
fn smtp_login<'a>(login: &'a str, password: &'a str) -> postdesk_contract::mail::LoginAttempt<'a> {
    postdesk_contract::mail::LoginAttempt {
        login,
        password,
        service: postdesk_contract::mail::LoginService::Smtp,
        client: std::net::Ipv4Addr::LOCALHOST.into(),
    }
}

async fn policy_explains_the_mail_rules_that_act_on_a_message(h: Harness) {
    organisation(&h).await;
    let rule = AddBccRule {
        domain: D.into(),
        name: "ann's sent mail".into(),
        direction: Some(postdesk_contract::rules::RuleDirection::Outbound),
        sender: Some("ann@example.com".into()),
        recipient: None,
        copy_to: "bob@example.com".into(),
    };
    h.owner.add_bcc_rule(rule).await.unwrap();
    h.owner.update_settings(set(dept("Sales"), serde_json::json!({ "daily_send_messages": 50 }))).await.unwrap();
    // ann (in Sales) to another domain: her BCC rule and her quota, with where each is set.
    let x = explain(&h, message("ann@example.com", &["x@far.example"])).await;
    let kinds: Vec<(&str, &str, &str)> =
        x.rules.iter().map(|r| (r.kind.as_str(), r.name.as_str(), r.set_in.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("auto_bcc", "ann's sent mail", "domain example.com"),
            ("daily_send_quota", "daily send quota", "department Sales")
        ]
    );
    assert!(x.rules[0].effect.contains("bob@example.com"), "{:?}", x.rules[0]);
    assert!(x.rules[1].effect.contains("sent 0 messages") && x.rules[1].effect.contains("Allowed"), "{:?}", x.rules[1]);
    // Someone else, inside the domain: neither acts.
    let x = explain(&h, message("dora@example.com", &["ann@example.com"])).await;
    assert!(x.rules.is_empty(), "{:?}", x.rules);
}

fn disclaimer(name: &str, text: &str) -> AddDisclaimerRule {
    AddDisclaimerRule { domain: D.into(), name: name.into(), text: text.into(), ..Default::default() }
}

async fn disclaimer_rules_are_checked_ordered_audited_and_explained(h: Harness) {
    use postdesk_contract::rules::DisclaimerScope;
    organisation(&h).await;
    // Bad input: refused at its field, nothing stored.
    let bad = AddDisclaimerRule { sender: Some("not a domain".into()), ..disclaimer("x", "t") };
    assert_eq!(h.owner.add_disclaimer_rule(bad).await.unwrap_err().field.as_deref(), Some("sender"));
    let bad = AddDisclaimerRule { except_department: Some("Nowhere".into()), ..disclaimer("x", "t") };
    assert_eq!(h.owner.add_disclaimer_rule(bad).await.unwrap_err().field.as_deref(), Some("except_department"));
    assert_eq!(h.owner.add_disclaimer_rule(disclaimer("x", "  ")).await.unwrap_err().field.as_deref(), Some("text"));
    let long = disclaimer("x", &"y".repeat(postdesk_contract::rules::MAX_DISCLAIMER_TEXT + 1));
    assert_eq!(h.owner.add_disclaimer_rule(long).await.unwrap_err().field.as_deref(), Some("text"));
    assert_eq!(h.owner.add_disclaimer_rule(disclaimer(" ", "t")).await.unwrap_err().field.as_deref(), Some("name"));
    let list = |h: &Harness| {
        let owner = h.owner.clone();
        async move {
            let page = owner.list_disclaimer_rules(ListDisclaimerRules { domain: D.into(), ..Default::default() });
            page.await.unwrap().items.into_iter().map(|r| (r.name, r.position)).collect::<Vec<_>>()
        }
    };
    assert!(list(&h).await.is_empty());
    // Three rules, in the order added; the department as the tree spells it.
    let sales = AddDisclaimerRule {
        scope: Some(DisclaimerScope::External),
        department: Some("sales".into()),
        ..disclaimer("sales", "Sales notice.")
    };
    let sales = h.owner.add_disclaimer_rule(sales).await.unwrap();
    assert_eq!(sales.department.as_deref(), Some("Sales"));
    let all = h.owner.add_disclaimer_rule(disclaimer("all", "Everyone's notice.")).await.unwrap();
    let third = h.owner.add_disclaimer_rule(disclaimer("third", "Third.")).await.unwrap();
    assert_eq!(list(&h).await, [("sales".into(), 1), ("all".into(), 2), ("third".into(), 3)]);
    // ann (Sales/East/North) to another domain: the first that fires is sales.
    let x = explain(&h, message("ann@example.com", &["x@far.example"])).await;
    let d: Vec<_> = x.rules.iter().filter(|r| r.kind == "disclaimer").collect();
    assert_eq!(d.len(), 1, "{:?}", x.rules);
    assert_eq!((d[0].name.as_str(), d[0].set_in.as_str()), ("sales", "domain example.com (position 1)"));
    // dora (Support) is not in Sales: the next one.
    let x = explain(&h, message("dora@example.com", &["x@far.example"])).await;
    assert_eq!(x.rules.iter().find(|r| r.kind == "disclaimer").map(|r| r.name.as_str()), Some("all"));
    // Mail from elsewhere gets none.
    let x = explain(&h, message("pat@far.example", &["ann@example.com"])).await;
    assert!(x.rules.iter().all(|r| r.kind != "disclaimer"), "{:?}", x.rules);
    // Moved: all first; past the end means last; positions stay 1..n.
    let order =
        h.owner.move_disclaimer_rule(MoveDisclaimerRule { domain: D.into(), id: all.id, position: 1 }).await.unwrap();
    assert_eq!(
        order.iter().map(|r| (r.id, r.position)).collect::<Vec<_>>(),
        [(all.id, 1), (sales.id, 2), (third.id, 3)]
    );
    h.owner.move_disclaimer_rule(MoveDisclaimerRule { domain: D.into(), id: all.id, position: 99 }).await.unwrap();
    assert_eq!(list(&h).await, [("sales".into(), 1), ("third".into(), 2), ("all".into(), 3)]);
    let e = h.owner.move_disclaimer_rule(MoveDisclaimerRule { domain: D.into(), id: all.id, position: 0 }).await;
    assert_eq!(e.unwrap_err().field.as_deref(), Some("position"));
    // Removed: the rest move up; an unknown id is refused.
    h.owner.remove_disclaimer_rule(RemoveDisclaimerRule { domain: D.into(), id: sales.id }).await.unwrap();
    assert_eq!(list(&h).await, [("third".into(), 1), ("all".into(), 2)]);
    let e = h.owner.remove_disclaimer_rule(RemoveDisclaimerRule { domain: D.into(), id: sales.id }).await.unwrap_err();
    assert_eq!(e.code, postdesk_contract::ErrorCode::NotFound);
    // Every change audited.
    let audit = h.owner.list_audit(ListAudit { limit: Some(50), ..Default::default() }).await.unwrap().items;
    let actions: Vec<&str> =
        audit.iter().filter(|a| a.action.contains("disclaimer")).map(|a| a.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "add_disclaimer_rule").count(), 3, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "move_disclaimer_rule").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "remove_disclaimer_rule").count(), 1, "{actions:?}");
}

fn watch(name: &str, target: &str) -> AddMonitorRule {
    AddMonitorRule { domain: D.into(), name: name.into(), target: target.into(), ..Default::default() }
}

async fn monitor_rules_are_checked_audited_and_explained(h: Harness) {
    use postdesk_contract::monitor::{MonitorAction, MonitorTraffic};
    organisation(&h).await;
    let field = |e: postdesk_contract::Error| e.field;
    // Bad input: refused at its field, nothing stored.
    let bad = [
        (watch(" ", "carl@example.com"), "name"),
        (watch("x", "nobody@example.com"), "target"),
        (watch("x", "someone@far.example"), "target"),
        (AddMonitorRule { action: Some(MonitorAction::Folder), ..watch("x", "INBOX") }, "target"),
        (AddMonitorRule { action: Some(MonitorAction::Folder), ..watch("x", "  ") }, "target"),
        (
            AddMonitorRule { scope_department: Some("Nowhere".into()), ..watch("x", "carl@example.com") },
            "scope_department",
        ),
        (
            AddMonitorRule { scope_account: Some("zed@example.com".into()), ..watch("x", "carl@example.com") },
            "scope_account",
        ),
        (
            AddMonitorRule { scope_account: Some("pat@far.example".into()), ..watch("x", "carl@example.com") },
            "scope_account",
        ),
        (
            AddMonitorRule {
                scope_account: Some("ann@example.com".into()),
                scope_department: Some("Sales".into()),
                ..watch("x", "carl@example.com")
            },
            "scope_department",
        ),
        (AddMonitorRule { sender: Some("not a domain".into()), ..watch("x", "carl@example.com") }, "sender"),
        (AddMonitorRule { min_size_kb: Some(0), ..watch("x", "carl@example.com") }, "min_size_kb"),
        (AddMonitorRule { keyword: Some("k".repeat(201)), ..watch("x", "carl@example.com") }, "keyword"),
    ];
    for (p, f) in bad {
        let e = h.owner.add_monitor_rule(p).await.unwrap_err();
        assert_eq!(field(e.clone()).as_deref(), Some(f), "{e:?}");
    }
    let list = |h: &Harness| {
        let owner = h.owner.clone();
        async move {
            let page = owner.list_monitor_rules(ListMonitorRules { domain: D.into(), ..Default::default() });
            page.await.unwrap().items
        }
    };
    assert!(list(&h).await.is_empty());
    // Sales (and below) to and from elsewhere, copied to carl; dora's mail about invoices filed.
    let sales = AddMonitorRule {
        scope_department: Some("sales".into()),
        traffic: Some(MonitorTraffic::External),
        ..watch("sales outside", "Carl@Example.com")
    };
    let sales = h.owner.add_monitor_rule(sales).await.unwrap();
    assert_eq!((sales.scope_department.as_deref(), sales.target.as_str()), (Some("Sales"), "carl@example.com"));
    let dora = AddMonitorRule {
        scope_account: Some("dora@example.com".into()),
        keyword: Some("invoice".into()),
        action: Some(MonitorAction::Folder),
        ..watch("dora's invoices", "Invoices")
    };
    let dora = h.owner.add_monitor_rule(dora).await.unwrap();
    assert_eq!(list(&h).await, [sales.clone(), dora.clone()]);
    // The explainer: ann (Sales/East/North) to elsewhere — the copy; inside — nothing.
    let x = explain(&h, message("ann@example.com", &["x@far.example"])).await;
    let m: Vec<_> = x.rules.iter().filter(|r| r.kind == "monitor").collect();
    assert_eq!(m.len(), 1, "{:?}", x.rules);
    assert_eq!(m[0].name, "sales outside");
    assert_eq!(m[0].set_in, "domain example.com (watching department Sales of example.com)");
    assert!(m[0].effect.contains("carl@example.com"), "{:?}", m[0]);
    let x = explain(&h, message("ann@example.com", &["bob@example.com"])).await;
    assert!(x.rules.iter().all(|r| r.kind != "monitor"), "{:?}", x.rules);
    // Mail to dora: her rule, with the keyword it cannot judge named.
    let x = explain(&h, message("pat@far.example", &["dora@example.com"])).await;
    let m: Vec<_> = x.rules.iter().filter(|r| r.kind == "monitor").collect();
    assert_eq!(m.len(), 1, "{:?}", x.rules);
    assert!(m[0].effect.contains("'Invoices'") && m[0].effect.contains("says 'invoice'"), "{:?}", m[0]);
    // Removed; an unknown id is refused; every change audited.
    h.owner.remove_monitor_rule(RemoveMonitorRule { domain: D.into(), id: sales.id }).await.unwrap();
    assert_eq!(list(&h).await, [dora]);
    let e = h.owner.remove_monitor_rule(RemoveMonitorRule { domain: D.into(), id: sales.id }).await.unwrap_err();
    assert_eq!(e.code, postdesk_contract::ErrorCode::NotFound);
    let audit = h.owner.list_audit(ListAudit { limit: Some(50), ..Default::default() }).await.unwrap().items;
    let actions: Vec<&str> = audit.iter().filter(|a| a.action.contains("monitor")).map(|a| a.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "add_monitor_rule").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "remove_monitor_rule").count(), 1, "{actions:?}");
}

async fn mail_rules_are_changed_in_place_with_the_checks_of_adding_them(h: Harness) {
    use postdesk_contract::monitor::MonitorAction;
    organisation(&h).await;
    let last_audit = async || {
        let page = h.owner.list_audit(ListAudit { limit: Some(1), ..Default::default() }).await.unwrap();
        page.items.into_iter().next().unwrap()
    };
    // BCC: same id, new content; a bad change is refused at its field and changes nothing.
    let bcc = AddBccRule {
        domain: D.into(),
        name: "archive".into(),
        copy_to: "carl@example.com".into(),
        ..Default::default()
    };
    let added = h.owner.add_bcc_rule(bcc).await.unwrap();
    let change = |copy_to: &str| UpdateBccRule {
        domain: D.into(),
        id: added.id,
        name: "archive 2".into(),
        sender: Some("far.example".into()),
        copy_to: copy_to.into(),
        ..Default::default()
    };
    let e = h.owner.update_bcc_rule(change("nobody@example.com")).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("copy_to"), "{e:?}");
    let listed = h.owner.list_bcc_rules(ListBccRules { domain: D.into(), ..Default::default() }).await.unwrap().items;
    assert_eq!(listed.as_slice(), std::slice::from_ref(&added), "unchanged");
    let changed = h.owner.update_bcc_rule(change("bob@example.com")).await.unwrap();
    assert_eq!(
        (changed.id, changed.name.as_str(), changed.sender.as_deref()),
        (added.id, "archive 2", Some("far.example"))
    );
    let listed = h.owner.list_bcc_rules(ListBccRules { domain: D.into(), ..Default::default() }).await.unwrap().items;
    assert_eq!(listed.as_slice(), std::slice::from_ref(&changed));
    let entry = last_audit().await;
    assert_eq!(entry.action, "update_bcc_rule");
    assert!(entry.before.unwrap().to_string().contains("carl@example.com"));
    let e = h.owner.update_bcc_rule(UpdateBccRule { id: 9999, ..change("bob@example.com") }).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);

    // Disclaimers: the changed rule keeps its place in the order.
    let disclaimer = |name: &str| AddDisclaimerRule {
        domain: D.into(),
        name: name.into(),
        text: format!("{name} text"),
        ..Default::default()
    };
    let first = h.owner.add_disclaimer_rule(disclaimer("first")).await.unwrap();
    let second = h.owner.add_disclaimer_rule(disclaimer("second")).await.unwrap();
    let update = UpdateDisclaimerRule {
        domain: D.into(),
        id: first.id,
        name: "first, legal".into(),
        department: Some("Sales".into()),
        text: "Confidential.".into(),
        ..Default::default()
    };
    let bad = UpdateDisclaimerRule { department: Some("Nowhere".into()), ..update.clone() };
    assert_eq!(h.owner.update_disclaimer_rule(bad).await.unwrap_err().field.as_deref(), Some("department"));
    let changed = h.owner.update_disclaimer_rule(update).await.unwrap();
    assert_eq!((changed.id, changed.position, changed.text.as_str()), (first.id, 1, "Confidential."));
    let order = h.owner.list_disclaimer_rules(ListDisclaimerRules { domain: D.into(), ..Default::default() }).await;
    let order: Vec<(i64, u32)> = order.unwrap().items.iter().map(|r| (r.id, r.position)).collect();
    assert_eq!(order, [(first.id, 1), (second.id, 2)]);
    assert_eq!(last_audit().await.action, "update_disclaimer_rule");

    // Monitoring: copy becomes filing into a folder.
    let rule = h.owner.add_monitor_rule(watch("watch", "carl@example.com")).await.unwrap();
    let update = UpdateMonitorRule {
        domain: D.into(),
        id: rule.id,
        name: "file it".into(),
        action: Some(MonitorAction::Folder),
        target: "INBOX".into(),
        ..Default::default()
    };
    assert_eq!(h.owner.update_monitor_rule(update.clone()).await.unwrap_err().field.as_deref(), Some("target"));
    let changed = h.owner.update_monitor_rule(UpdateMonitorRule { target: "Watched".into(), ..update }).await.unwrap();
    assert_eq!((changed.id, changed.action, changed.target.as_str()), (rule.id, MonitorAction::Folder, "Watched"));
    let listed = h.owner.list_monitor_rules(ListMonitorRules { domain: D.into(), ..Default::default() }).await.unwrap();
    assert_eq!(listed.items, [changed]);
    assert_eq!(last_audit().await.action, "update_monitor_rule");
}
