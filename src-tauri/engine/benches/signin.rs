//! Admin sign-in timing benchmark (not a test): an unknown name against a known name with a
//! wrong password, alternated, each a full `Engine::sign_in_at` (the rate-limit read, the
//! lookup, the Argon2id check against the real or the dummy hash, the failure written and
//! audited). The two should cost the same: a difference would tell an attacker which names
//! exist. Each attempt comes from its own client address and a fresh clock window so the rate
//! limits never cut one short. On-disk database with the production settings.
//!
//! Then the same for the user portal (`Engine::portal_sign_in_at`): an unknown address against
//! an account's address with a wrong password (the mail services' `verify_login` underneath,
//! with its dummy hash for unknown addresses; the domain's lockout threshold at its highest so
//! the account is never locked during the run).
//!
//! `cargo bench -p postdesk-engine --bench signin` (POSTDESK_BENCH_SIGNINS to scale, default 60).

use std::time::{Duration, Instant};

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_engine::Engine;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap_or(1)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map_or_else(|_| "unknown".into(), |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::var("POSTDESK_BENCH_SIGNINS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let owner = engine.local_backend();
    owner
        .create_admin(CreateAdmin {
            name: "ann".into(),
            role: Role::Admin,
            pages: Some(vec![Page::Accounts]),
            domains: None,
        })
        .await
        .unwrap();
    let password = Password("Correct horse 1".into());
    owner.set_admin_password(SetAdminPassword { name: "ann".into(), password, current_password: None }).await.unwrap();

    let (mut unknown, mut wrong) = (Vec::with_capacity(n), Vec::with_capacity(n));
    // A warm-up of each, not counted.
    let base: i64 = 1_900_000_000;
    for i in 0..(n + 2) {
        // Each pair in its own 15-minute window and from its own address: never rate-limited.
        let now = base + i64::try_from(i).unwrap() * 1000;
        let client = Some(std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + u32::try_from(i).unwrap())));
        let t = Instant::now();
        engine.sign_in_at(&format!("nobody{i}"), "a wrong password", client, now).await.unwrap_err();
        let a = t.elapsed();
        let t = Instant::now();
        engine.sign_in_at("ann", "a wrong password", client, now + 1).await.unwrap_err();
        let b = t.elapsed();
        if i >= 2 {
            unknown.push(a);
            wrong.push(b);
        }
    }
    let (mu, mw) = (median(unknown.clone()), median(wrong.clone()));
    println!("admin sign-in refusals, {n} of each, alternated (load {}):", load());
    println!("  unknown name:   median {}, mean {}", ms(mu), ms(mean(&unknown)));
    println!("  wrong password: median {}, mean {}", ms(mw), ms(mean(&wrong)));
    let diff = mu.as_secs_f64() - mw.as_secs_f64();
    println!("  difference of the medians: {:+.1} ms ({:+.1} %)", diff * 1000.0, diff / mw.as_secs_f64() * 100.0);

    // The user portal: an unknown address against a wrong password for an existing account.
    owner.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    let account = CreateAccount {
        address: "lee@example.com".into(),
        password: Some(Password("Correct horse 1".into())),
        ..Default::default()
    };
    owner.create_account(account).await.unwrap();
    let most =
        UpdateMailboxSettings { domain: "example.com".into(), lockout_threshold: Some(100), ..Default::default() };
    owner.update_mailbox_settings(most).await.unwrap();
    let (mut unknown, mut wrong) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let base: i64 = 2_000_000_000;
    for i in 0..(n + 2).min(90) {
        let now = base + i64::try_from(i).unwrap() * 1000;
        let client = Some(std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + u32::try_from(i).unwrap())));
        let t = Instant::now();
        engine.portal_sign_in_at(&format!("nobody{i}@example.com"), "a wrong password", client, now).await.unwrap_err();
        let a = t.elapsed();
        let t = Instant::now();
        engine.portal_sign_in_at("lee@example.com", "a wrong password", client, now + 1).await.unwrap_err();
        let b = t.elapsed();
        if i >= 2 {
            unknown.push(a);
            wrong.push(b);
        }
    }
    let (mu, mw) = (median(unknown.clone()), median(wrong.clone()));
    println!("portal sign-in refusals, {} of each, alternated (load {}):", unknown.len(), load());
    println!("  unknown address: median {}, mean {}", ms(mu), ms(mean(&unknown)));
    println!("  wrong password:  median {}, mean {}", ms(mw), ms(mean(&wrong)));
    let diff = mu.as_secs_f64() - mw.as_secs_f64();
    println!("  difference of the medians: {:+.1} ms ({:+.1} %)", diff * 1000.0, diff / mw.as_secs_f64() * 100.0);
}
