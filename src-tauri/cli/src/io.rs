//! Reading passwords and files, writing exported files, refusals listed by row.

use std::io::IsTerminal;
use std::path::Path;

use base64::Engine as _;
use postdesk_contract::api::Password;
use postdesk_contract::model::ExportedFile;
use postdesk_contract::{Error, Result};

/// Reads a password: one line from stdin, or prompted twice on a terminal.
pub fn read_password(from_stdin: bool) -> Result<Password> {
    let io = |e: std::io::Error| Error::validation(format!("cannot read the password: {e}"));
    let password = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(io)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("New password: ").map_err(io)?;
        let second = rpassword::prompt_password("Repeat it: ").map_err(io)?;
        if first != second {
            return Err(Error::validation("the two passwords differ; nothing was changed").with_field("password"));
        }
        first
    };
    if password.is_empty() {
        return Err(Error::validation("no password given").with_field("password"));
    }
    Ok(Password(password))
}

pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::validation(format!("cannot read {}: {e}", path.display())).with_field("file");
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > postdesk_xlsx::MAX_FILE_BYTES as u64 {
        return Err(Error::validation(format!(
            "{} has {len} bytes; an import file may have at most {} bytes (1 MB)",
            path.display(),
            postdesk_xlsx::MAX_FILE_BYTES
        ))
        .with_field("file"));
    }
    std::fs::read(path).map_err(io)
}

pub fn write_file(path: &Path, file: &ExportedFile) -> Result<()> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&file.content_base64)
        .map_err(|e| Error::internal(format!("the backend sent a file that is not base64: {e}")))?;
    std::fs::write(path, bytes)
        .map_err(|e| Error::validation(format!("cannot write {}: {e}", path.display())).with_field("file"))
}

/// A refusal that lists problems by row: every row in the message, not just the first ones.
pub fn with_every_row(e: Error) -> Error {
    if e.rows.is_empty() {
        return e;
    }
    let first = e.message.lines().next().unwrap_or_default().to_string();
    let listed: Vec<String> = e.rows.iter().map(|r| r.to_string()).collect();
    Error { message: format!("{first}\n{}", listed.join("\n")), ..e }
}
