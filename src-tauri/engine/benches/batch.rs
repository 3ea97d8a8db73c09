//! Batch settings benchmark (not a test): on a department of 10,000 accounts spread over
//! sub-departments three levels deep — a batch setting change (stored once at the
//! department), the same on a selection of 10,000 accounts (one row each), undo, a batch
//! password reset (10,000 Argon2id hashes, each with its own salt, on all cores; the engine
//! logs its hashing and writing time apart), effective-settings resolution, the company address
//! book, and the policy decision (the pure function, and `explain_policy` end to end).
//! Runs on an on-disk database with the production settings (WAL, synchronous=FULL).
//!
//! `cargo bench -p postdesk-core --bench batch` (POSTDESK_BENCH_ACCOUNTS to scale the
//! department, POSTDESK_BENCH_SKIP_RESET=1 to leave out the password reset, which takes
//! minutes on a small machine).

use std::time::{Duration, Instant};

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::policy::{self, AccountFacts, ClientProtocol, Envelope, PolicyInput, RecipientFacts};
use postdesk_contract::settings::*;
use postdesk_engine::Engine;

const DOMAIN: &str = "bench.example";

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!("median {:>9.3} ms  p99 {:>9.3} ms  (n={})", ms(pick(0.5)), ms(pick(0.99)), samples.len())
}

fn per_call(total: Duration, n: u32) -> String {
    format!("{:>9.3} µs per call (n={n})", total.as_secs_f64() * 1e6 / f64::from(n))
}

fn settings(json: serde_json::Value) -> Settings {
    serde_json::from_value(json).unwrap()
}

/// The department tree under Corp: 3 levels, 21 departments.
fn departments() -> Vec<String> {
    let mut out = vec!["Corp".to_string()];
    for a in ["Sales", "Support", "Ops", "Finance"] {
        out.push(format!("Corp/{a}"));
        for b in ["North", "South", "East", "West"] {
            out.push(format!("Corp/{a}/{b}"));
        }
    }
    out
}

async fn run() {
    let total: usize = std::env::var("POSTDESK_BENCH_ACCOUNTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let skip_reset = std::env::var_os("POSTDESK_BENCH_SKIP_RESET").is_some();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    let limits = PlanLimits { max_accounts: (total + 5_000) as u32, ..PlanLimits::default() };
    b.create_domain(CreateDomain { domain: DOMAIN.into(), limits: Some(limits), group: None }).await.unwrap();
    let tree = departments();
    for path in tree.iter().chain(&["Elsewhere".to_string()]) {
        b.create_department(CreateDepartment { domain: DOMAIN.into(), path: path.clone(), parents: Some(true) })
            .await
            .unwrap();
    }
    // The department's accounts spread over every level of Corp, plus 2,000 elsewhere.
    let leaves: Vec<&String> = tree.iter().collect();
    let mut i = 0;
    while i < total + 2_000 {
        let n = (total + 2_000 - i).min(10_000);
        let rows = (i..i + n)
            .map(|k| CreateAccount {
                address: format!("user{k:06}@{DOMAIN}"),
                display_name: Some(format!("User {k}")),
                department: Some(if k < total { leaves[k % leaves.len()].clone() } else { "Elsewhere".into() }),
                notes: None,
                password: None,
                force_password_change: None,
                quota_mb: None,
            })
            .collect();
        b.create_accounts(CreateAccounts { domain: DOMAIN.into(), accounts: rows }).await.unwrap();
        i += n;
    }
    let corp = || BatchTarget::Department { path: "Corp".into(), subdepartments: None };
    println!(
        "Postdesk batch-settings benchmark — department Corp: {total} accounts in {} departments (3 levels), \
         {} accounts in the domain; SQLite WAL synchronous=FULL on disk\n",
        tree.len(),
        total + 2_000
    );

    // 1. A batch setting change on the department with its sub-departments: one row.
    let mut samples = Vec::new();
    for k in 0..20 {
        let values = settings(serde_json::json!({
            "external_send": k % 2 == 1,
            "send_exceptions": [format!("partner{k}.example")],
            "pop3": k % 2 == 0,
        }));
        let t = Instant::now();
        let out = b
            .update_settings(UpdateSettings { domain: DOMAIN.into(), target: corp(), set: Some(values), clear: None })
            .await
            .unwrap();
        samples.push(t.elapsed());
        assert_eq!(out.batch.unwrap().accounts as usize, total);
    }
    println!("batch setting change, department of {total} (3 keys):      {}", stats(samples));

    // …the same when 500 accounts and 5 sub-departments override a key below it.
    let overriders: Vec<String> = (0..500).map(|k| format!("user{:06}@{DOMAIN}", k * 7)).collect();
    let mut samples = Vec::new();
    for k in 0..5 {
        let overrides = settings(serde_json::json!({ "imap": false }));
        b.update_settings(UpdateSettings {
            domain: DOMAIN.into(),
            target: BatchTarget::Accounts { addresses: overriders.clone() },
            set: Some(overrides.clone()),
            clear: None,
        })
        .await
        .unwrap();
        for d in ["Corp/Sales", "Corp/Ops/East", "Corp/Ops/West", "Corp/Finance", "Corp/Support/North"] {
            let target = BatchTarget::Department { path: d.into(), subdepartments: Some(false) };
            b.update_settings(UpdateSettings {
                domain: DOMAIN.into(),
                target,
                set: Some(overrides.clone()),
                clear: None,
            })
            .await
            .unwrap();
        }
        let t = Instant::now();
        let out = b
            .update_settings(UpdateSettings {
                domain: DOMAIN.into(),
                target: corp(),
                set: Some(settings(serde_json::json!({ "imap": k % 2 == 0 }))),
                clear: None,
            })
            .await
            .unwrap();
        samples.push(t.elapsed());
        assert!(out.batch.unwrap().changes >= 505);
    }
    println!("  … replacing 505 overrides below it:                   {}", stats(samples));

    // 2. The same change on a selection of all its accounts: one row per account.
    let everyone: Vec<String> = (0..total).map(|k| format!("user{k:06}@{DOMAIN}")).collect();
    let mut samples = Vec::new();
    let mut last = 0;
    for k in 0..5 {
        let t = Instant::now();
        let out = b
            .update_settings(UpdateSettings {
                domain: DOMAIN.into(),
                target: BatchTarget::Accounts { addresses: everyone.clone() },
                set: Some(settings(serde_json::json!({ "auto_forward": k % 2 == 1 }))),
                clear: None,
            })
            .await
            .unwrap();
        samples.push(t.elapsed());
        last = out.batch.unwrap().id;
    }
    println!("batch setting change, selection of {total} accounts:     {}", stats(samples));
    let t = Instant::now();
    b.undo_batch(UndoBatch { domain: DOMAIN.into(), id: last }).await.unwrap();
    println!("undo of that selection batch ({total} rows restored):    {:>9.3} ms", t.elapsed().as_secs_f64() * 1e3);

    // 3. Effective settings of one account (4 levels + its own), through the Backend.
    let mut samples = Vec::new();
    for k in 0..300 {
        let address = format!("user{:06}@{DOMAIN}", (k * 37) % total);
        let t = Instant::now();
        let e = b.get_effective_settings(GetEffectiveSettings { address }).await.unwrap();
        samples.push(t.elapsed());
        assert!(e.department.is_some());
    }
    println!("effective settings of one account (get_effective_settings): {}", stats(samples));
    // …and the pure resolution over the layers alone.
    let layers: Vec<(SettingSource, Settings)> = vec![
        (SettingSource::domain(), settings(serde_json::json!({ "external_send": false, "lockout_threshold": 4 }))),
        (
            SettingSource::department("Corp"),
            settings(serde_json::json!({ "send_exceptions": ["a.example", "b.example"] })),
        ),
        (SettingSource::department("Corp/Sales"), settings(serde_json::json!({ "pop3": false }))),
        (SettingSource::department("Corp/Sales/East"), settings(serde_json::json!({ "imap": false }))),
        (SettingSource::account(), settings(serde_json::json!({ "auto_forward": false }))),
    ];
    let refs: Vec<(SettingSource, &Settings)> = layers.iter().map(|(s, l)| (s.clone(), l)).collect();
    let n = 200_000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(EffectiveValues::resolve(std::hint::black_box(&refs)));
    }
    println!("  pure resolution of 5 layers (EffectiveValues::resolve): {}", per_call(t.elapsed(), n));

    // 4. The company address book of the whole domain: its first page (every entry ranked).
    let mut samples = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let book = b.list_address_book(ListAddressBook { domain: DOMAIN.into(), ..Default::default() }).await.unwrap();
        samples.push(t.elapsed());
        assert_eq!((book.shown + book.hidden) as usize, total + 2_000);
    }
    println!("address book of {} accounts, first page:             {}", total + 2_000, stats(samples));

    // 5. Policy: the pure decision, and explain_policy end to end.
    let facts = |address: &str, f: fn(&mut ResolvedSettings)| {
        let mut s = ResolvedSettings::default();
        f(&mut s);
        AccountFacts { address: address.into(), settings: s }
    };
    let sender = facts("ann@bench.example", |s| {
        s.external_send = false;
        s.send_exceptions = (0..50).map(|i| format!("partner{i}.example")).collect();
    });
    let one = PolicyInput {
        envelope: Envelope {
            sender: sender.address.clone(),
            recipients: vec!["x@partner49.example".into()],
            authenticated_user: Some(sender.address.clone()),
            protocol: ClientProtocol::Smtp,
            auto_forward: false,
        },
        authenticated: Some(sender.clone()),
        sender: Some(sender.clone()),
        recipients: vec![RecipientFacts::External],
    };
    let mut ten = one.clone();
    ten.envelope.recipients =
        (0..10).map(|i| format!("r{i}@{}", if i % 2 == 0 { "bench.example" } else { "far.example" })).collect();
    ten.recipients = (0..10)
        .map(|i| {
            if i % 2 == 0 {
                RecipientFacts::Account {
                    account: facts(&format!("r{i}@bench.example"), |s| s.external_receive = false),
                }
            } else {
                RecipientFacts::External
            }
        })
        .collect();
    for (label, input) in [("1 recipient (50 exceptions)", &one), ("10 recipients              ", &ten)] {
        let n = 200_000;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(policy::decide(std::hint::black_box(input)));
        }
        println!("policy decision, pure, {label}:    {}", per_call(t.elapsed(), n));
    }
    b.update_settings(UpdateSettings {
        domain: DOMAIN.into(),
        target: corp(),
        set: Some(settings(serde_json::json!({ "external_send": false }))),
        clear: None,
    })
    .await
    .unwrap();
    let mut samples = Vec::new();
    for k in 0..200 {
        let p = ExplainPolicy {
            sender: format!("user{:06}@{DOMAIN}", (k * 13) % total),
            recipients: vec!["x@far.example".into(), format!("user{:06}@{DOMAIN}", (k * 17) % total)],
            authenticated_user: None,
            protocol: None,
            auto_forward: None,
        };
        let t = Instant::now();
        let x = b.explain_policy(p).await.unwrap();
        samples.push(t.elapsed());
        assert!(!x.decision.recipients[0].allowed);
    }
    println!("explain_policy end to end (2 recipients):             {}", stats(samples));

    // 6. A batch password reset of the department: one hash per account, own salt each.
    if skip_reset {
        println!("\n(password reset skipped: POSTDESK_BENCH_SKIP_RESET is set)");
    } else {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "\nbatch password reset, department of {total} ({cores} cores; the engine's own split follows from its log):"
        );
        let t = Instant::now();
        let out = b
            .reset_passwords(ResetPasswords {
                domain: DOMAIN.into(),
                target: corp(),
                password: Password("Batch reset 2026".into()),
                force_password_change: Some(true),
            })
            .await
            .unwrap();
        let whole = t.elapsed();
        assert_eq!(out.batch.unwrap().accounts as usize, total);
        println!(
            "  whole operation: {:>8.2} s  ({:.1} accounts/s; Argon2id m=19 MiB, t=2, p=1, one salt per account)",
            whole.as_secs_f64(),
            total as f64 / whole.as_secs_f64()
        );
    }
    engine.close().await;
}

fn main() {
    // The engine logs the hashing and writing time of a password reset at info level.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("postdesk::batch=info"))
        .with_writer(std::io::stdout)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .init();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run());
}
