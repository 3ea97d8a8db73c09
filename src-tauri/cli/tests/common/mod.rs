//! Running commands in the tests, like ripgrep's test harness: [`run`] returns a [`Ran`]
//! whose assertions, when they fail, print the command line, the exit code, stdout and
//! stderr, so a broken test explains itself.
#![allow(dead_code)] // each test file uses its own part

use std::fmt;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// A finished run: its command line and everything it printed.
pub struct Ran {
    pub cmdline: String,
    pub output: Output,
}

/// The command line of `cmd`, each argument quoted when it needs to be.
pub fn cmdline(cmd: &Command) -> String {
    let quote = |s: &std::ffi::OsStr| {
        let s = s.to_string_lossy();
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c)) {
            s.into_owned()
        } else {
            format!("{s:?}")
        }
    };
    std::iter::once(quote(cmd.get_program())).chain(cmd.get_args().map(quote)).collect::<Vec<_>>().join(" ")
}

/// Runs `cmd` to its end with `stdin` (or nothing) on its standard input.
#[track_caller]
pub fn run(mut cmd: Command, stdin: Option<&str>) -> Ran {
    let cmdline = cmdline(&cmd);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmdline}: {e}"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("cannot wait for {cmdline}: {e}"));
    Ran { cmdline, output }
}

impl Ran {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn success(&self) -> bool {
        self.output.status.success()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Panics with `what` and everything about the run.
    #[track_caller]
    pub fn fail(&self, what: impl fmt::Display) -> ! {
        panic!("{what}\n{self}")
    }

    /// Fails with `what` unless `ok`.
    #[track_caller]
    pub fn check(&self, ok: bool, what: impl fmt::Display) -> &Self {
        if !ok {
            self.fail(what);
        }
        self
    }

    /// Exit code 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        self.check(self.success(), "expected success")
    }

    /// Exit code `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        self.check(self.code() == Some(code), format!("expected exit code {code}"))
    }

    /// Stdout passes `test` (described by `what`).
    #[track_caller]
    pub fn assert_stdout(&self, test: impl FnOnce(&str) -> bool, what: &str) -> &Self {
        self.check(test(&self.stdout()), format!("stdout: expected {what}"))
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        self.check(self.stdout().contains(needle), format!("stdout lacks {needle:?}"))
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        self.check(self.stderr().contains(needle), format!("stderr lacks {needle:?}"))
    }

    /// Stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| self.fail(format!("stdout is not JSON: {e}")))
    }
}

impl fmt::Display for Ran {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code().map_or_else(|| format!("none ({})", self.output.status), |c| c.to_string());
        writeln!(f, "command: {}", self.cmdline)?;
        writeln!(f, "exit code: {code}")?;
        writeln!(f, "--- stdout ---\n{}", self.stdout().trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr().trim_end())
    }
}
