//! `postdesk accounts bulk`: bulk account actions from the command line, by address and by
//! filter, with --yes before a delete or a department-wide action, undone with `batch undo`.

use crate::common;

use std::process::Command;

use common::Ran;

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    #[track_caller]
    fn run(&self, args: &[&str]) -> Ran {
        let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
        c.arg("--data-dir").arg(self.dir.path()).env_remove("POSTDESK_URL").env_remove("POSTDESK_TOKEN");
        c.args(args);
        common::run(c, None)
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> Ran {
        let out = self.run(args);
        out.assert_ok();
        out
    }

    #[track_caller]
    fn refused(&self, args: &[&str], needle: &str) {
        self.run(args).assert_code(1).assert_stderr_contains(needle);
    }

    #[track_caller]
    fn status(&self, address: &str) -> String {
        let out = self.ok(&["--json", "accounts", "show", address]).json();
        out["status"].as_str().unwrap().to_string()
    }
}

#[test]
fn bulk_account_actions_from_the_command_line() {
    let r = Run { dir: tempfile::tempdir().unwrap() };
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["dept", "add", "example.com", "Sales"]);
    r.ok(&["dept", "add", "example.com", "Ops"]);
    for (a, d) in [("ann", "Sales"), ("bob", "Sales"), ("cy", "Ops")] {
        r.ok(&["accounts", "add", &format!("{a}@example.com"), "--dept", d]);
    }

    // By address: no --yes needed for a disable.
    r.ok(&[
        "accounts",
        "bulk",
        "example.com",
        "--disable",
        "--account",
        "ann@example.com",
        "--account",
        "cy@example.com",
    ])
    .assert_stdout(|out| out.starts_with("batch 1: 2 selected accounts: 2 accounts disabled"), "batch 1");
    assert_eq!((r.status("ann@example.com"), r.status("bob@example.com")), ("disabled".into(), "active".into()));
    r.ok(&["batch", "undo", "example.com", "1"]);
    assert_eq!(r.status("ann@example.com"), "active");

    // A whole department needs --yes, and says how many it would touch.
    r.refused(
        &["accounts", "bulk", "example.com", "--quota-mb", "50", "--dept", "Sales"],
        "acts on 2 accounts; add --yes",
    );
    r.ok(&["accounts", "bulk", "example.com", "--quota-mb", "50", "--dept", "Sales", "--yes"]);
    let ann = r.ok(&["--json", "accounts", "show", "ann@example.com"]).json();
    assert_eq!(ann["quota_mb"], 50);

    // Move by a text filter; to the top level with an empty department.
    r.ok(&["accounts", "bulk", "example.com", "--move-to", "Ops", "-q", "bob"]);
    r.ok(&["accounts", "bulk", "example.com", "--move-to", "", "--account", "cy@example.com"]);
    let cy = r.ok(&["--json", "accounts", "show", "cy@example.com"]).json();
    assert_eq!(cy["department"], serde_json::Value::Null);

    // Refusals change nothing; a delete needs --yes.
    r.refused(&["accounts", "bulk", "example.com", "--move-to", "Nowhere", "--all", "--yes"], "department Nowhere");
    r.refused(&["accounts", "bulk", "example.com", "--disable"], "say which accounts");
    r.refused(&["accounts", "bulk", "example.com", "--delete", "--all"], "deletes 3 accounts; add --yes");
    assert_eq!(r.status("bob@example.com"), "active");
    r.ok(&["accounts", "bulk", "example.com", "--delete", "--all", "--yes"]);
    let left = r.ok(&["--json", "accounts", "list", "example.com"]).json();
    assert_eq!(left["total"], 0);
}
