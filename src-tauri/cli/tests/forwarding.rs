//! `postdesk accounts forwarding` / `forwarding-clear`: a user's own forwarding (set through
//! the engine's portal on the same data folder) shown, and ended by the admin.

use crate::common;

use std::process::Command;

use common::Ran;
use postdesk_contract::api::{Password, Portal};
use postdesk_contract::forwarding::SetForwarding;
use postdesk_engine::Engine;

const PW: &str = "Correct horse 1";

fn run(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir").arg(dir).env_remove("POSTDESK_URL").env_remove("POSTDESK_TOKEN").args(args);
    common::run(c, stdin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_forwarding_is_shown_and_ended_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = run(d, args, None);
        out.assert_ok();
        out
    };
    ok(&["domain", "add", "example.com"]);
    run(d, &["accounts", "add", "ann@example.com", "--password-stdin"], Some(&format!("{PW}\n"))).assert_ok();
    ok(&["accounts", "forwarding", "ann@example.com"]).assert_stdout_contains("ann@example.com: forwards no mail");

    let engine = Engine::open(d).await.unwrap();
    let step = <Engine as Portal>::sign_in(&engine, "ann@example.com", &Password(PW.into()), None).await.unwrap();
    let (user, _) = <Engine as Portal>::session(&engine, &step.session_secret).await.unwrap();
    let set = SetForwarding { targets: vec!["pat@far.test".into()], keep_copy: false };
    engine.set_own_forwarding(&user, set).await.unwrap();
    engine.close().await;

    ok(&["accounts", "forwarding", "ann@example.com"])
        .assert_stdout_contains("ann@example.com: forwards to pat@far.test and keeps no copy");
    let json = ok(&["--json", "accounts", "forwarding", "ann@example.com"]).json();
    assert_eq!(json, serde_json::json!({ "targets": ["pat@far.test"], "keep_copy": false, "allowed": true }));
    ok(&["accounts", "forwarding-clear", "ann@example.com"])
        .assert_stdout_contains("ended the forwarding of ann@example.com");
    ok(&["accounts", "forwarding", "ann@example.com"]).assert_stdout_contains("forwards no mail");
    run(d, &["accounts", "forwarding-clear", "ann@example.com"], None)
        .assert_code(1)
        .assert_stderr_contains("forwards no mail");
}
