//! `postdesk sms`: the SMS gateway (token on stdin, never printed, a 0600 secret file that
//! log mode removes), the log sender's messages, and an account's bound phone shown masked
//! and cleared. The phone is bound through the engine's portal on the same data folder with
//! the code the CLI read from the log.

use crate::common;

use std::process::Command;

use common::Ran;
use postdesk_contract::api::PortalPhones;
use postdesk_contract::api::{Password, Portal};
use postdesk_contract::phone::{ConfirmPhone, SendPhoneCode};
use postdesk_engine::Engine;

const PW: &str = "Correct horse 1";

fn run(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir").arg(dir).env_remove("POSTDESK_URL").env_remove("POSTDESK_TOKEN").args(args);
    common::run(c, stdin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sms_gateway_its_log_and_bound_phones_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = run(d, args, None);
        out.assert_ok();
        out
    };
    ok(&["domain", "add", "example.com"]);
    run(d, &["accounts", "add", "ann@example.com", "--password-stdin"], Some(&format!("{PW}\n"))).assert_ok();

    ok(&["sms", "gateway", "show"])
        .assert_stdout(|s| s.contains("mode:  log") && s.contains("token: not set"), "log mode");
    run(d, &["sms", "gateway", "set", "http", "--url", "http://sms.example/send"], None)
        .assert_code(1)
        .assert_stderr_contains("https://");
    run(
        d,
        &["sms", "gateway", "set", "http", "--url", "https://sms.example/send", "--token-stdin"],
        Some("tok-cli-77\n"),
    )
    .assert_ok()
    .assert_stdout(|s| s.contains("token: set") && !s.contains("tok-cli-77"), "the token set, not shown");
    let shown = ok(&["--json", "sms", "gateway", "show"]).json();
    assert_eq!(shown, serde_json::json!({ "mode": "http", "url": "https://sms.example/send", "token_set": true }));
    let secret = d.join("secrets").join("sms.gateway");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
    }
    ok(&["sms", "gateway", "set", "log"]).assert_stdout_contains("token: not set");
    assert!(!secret.exists(), "log mode forgets the token");
    ok(&["sms", "log"]).assert_stdout(|s| s.starts_with("AT") && s.lines().count() == 1, "an empty log");

    // Bind a phone through the portal with the code the CLI reads from the log.
    let engine = Engine::open(d).await.unwrap();
    let step = <Engine as Portal>::sign_in(&engine, "ann@example.com", &Password(PW.into()), None).await.unwrap();
    let (user, _) = <Engine as Portal>::session(&engine, &step.session_secret).await.unwrap();
    engine.send_phone_code(&user, SendPhoneCode { phone: "+41 79 123 45 67".into() }).await.unwrap();
    let log = ok(&["--json", "sms", "log"]).json();
    assert_eq!(log[0]["to"], "+41791234567");
    let text = log[0]["text"].as_str().unwrap();
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    ok(&["sms", "log"]).assert_stdout(|s| s.contains("+41791234567") && s.contains("ann@example.com"), "the message");
    engine.confirm_phone(&user, ConfirmPhone { code }).await.unwrap();
    engine.close().await;

    ok(&["sms", "phone", "show", "ann@example.com"]).assert_stdout_contains("phone +********567 bound at");
    ok(&["sms", "phone", "clear", "ann@example.com"]).assert_stdout_contains("cleared the phone of ann@example.com");
    ok(&["sms", "phone", "show", "ann@example.com"]).assert_stdout_contains("no phone bound");
    run(d, &["sms", "phone", "clear", "ann@example.com"], None).assert_code(1).assert_stderr_contains("no phone bound");
    ok(&["--json", "audit", "--limit", "100"]).assert_stdout(
        |audit| {
            audit.contains("set_sms_gateway") && audit.contains("clear_account_phone") && !audit.contains("tok-cli-77")
        },
        "the gateway and the clearing audited, never the token",
    );
}
