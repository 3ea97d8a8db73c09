//! Files the window saves and opens through the OS's own dialogs: an export written where
//! the user chose in the save dialog, an import read from the file picked in the open
//! dialog. The dialogs themselves are in [`crate::commands::files`]; the web page never
//! names a path, it only gets back what the user picked.

use std::io::{Read, Write};
use std::path::Path;

use base64::Engine as _;
use postdesk_contract::Error;
use postdesk_contract::model::ExportedFile;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Largest file the open dialog hands to the page: every import takes at most this.
pub const MAX_OPEN_BYTES: u64 = postdesk_xlsx::MAX_FILE_BYTES as u64;

/// An export written by `save_file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SavedFile {
    /// Where it was written (as the user chose it).
    pub path: String,
    /// Bytes written.
    #[ts(type = "number")]
    pub bytes: u64,
}

/// A file picked in the open dialog, read for an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct OpenedFile {
    /// Its name, without the folder.
    pub file_name: String,
    /// Its bytes, standard base64 (as the import operations take them).
    pub content_base64: String,
    /// Its size in bytes.
    #[ts(type = "number")]
    pub size: u64,
}

/// What the open dialog offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum OpenKind {
    /// An XLSX spreadsheet (every import).
    Xlsx,
}

impl OpenKind {
    /// The dialog's filter: a label and the extensions it shows.
    pub fn filter(self) -> (&'static str, &'static [&'static str]) {
        match self {
            OpenKind::Xlsx => ("Excel workbook (.xlsx)", &["xlsx"]),
        }
    }
}

/// The name the save dialog suggests: the export's own name without any folder part or
/// control character (it comes from a backend, which may be a remote one).
pub fn suggested_name(file_name: &str) -> String {
    let last = file_name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim().trim_start_matches('.');
    if clean.is_empty() { "export".to_owned() } else { clean.to_owned() }
}

/// The save dialog's filter for a suggested name: by its extension.
pub fn save_filter(name: &str) -> (&'static str, &'static [&'static str]) {
    match Path::new(name).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("xlsx") => ("Excel workbook (.xlsx)", &["xlsx"]),
        Some("csv") => ("Comma-separated values (.csv)", &["csv"]),
        Some("mobileconfig") => ("Apple configuration profile (.mobileconfig)", &["mobileconfig"]),
        _ => ("All files", &["*"]),
    }
}

/// Writes an export where the user chose: into a temporary file beside it, flushed to disk,
/// then renamed over the target, so a failure never leaves a half-written file there.
pub fn write_export(path: &Path, file: &ExportedFile) -> Result<SavedFile, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(file.content_base64.as_bytes())
        .map_err(|e| Error::internal(format!("the export {} is not valid base64: {e}", file.file_name)))?;
    let shown = path.display();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if path.file_name().is_none() {
        return Err(Error::validation(format!("{shown} is not a file name")));
    }
    // A new file of a random name, created exclusively and readable by the user alone (an
    // export holds people's data), dropped on any failure; renamed over the target once on disk.
    let written = (|| {
        let mut out = tempfile::Builder::new().prefix(".postdesk-export-").tempfile_in(dir)?;
        out.write_all(&bytes)?;
        out.as_file().sync_all()?;
        out.persist(path).map_err(|e| e.error)?;
        // The rename itself on disk (best effort: not every file system syncs a folder).
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        Ok::<_, std::io::Error>(())
    })();
    written.map_err(|e| Error::internal(format!("Could not save {shown}: {e}")))?;
    Ok(SavedFile { path: path.display().to_string(), bytes: bytes.len() as u64 })
}

/// Reads a picked file for an import, refusing one over `max` bytes before reading it (and
/// one that grows past it while being read).
pub fn read_import(path: &Path, max: u64) -> Result<OpenedFile, Error> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let failed =
        |e: std::io::Error| Error::validation(format!("Could not read {}: {e}", path.display())).with_field("file");
    // Checked before opening: opening a named pipe would wait for a writer.
    if !std::fs::metadata(path).map_err(failed)?.is_file() {
        return Err(Error::validation(format!("{} is not a file", path.display())).with_field("file"));
    }
    let file = std::fs::File::open(path).map_err(failed)?;
    let meta = file.metadata().map_err(failed)?;
    let too_big = |size: u64| {
        Error::validation(format!(
            "{file_name} has {}; an import file may have at most {}.",
            human_bytes(size),
            human_bytes(max)
        ))
        .with_field("file")
    };
    if meta.len() > max {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(failed)?;
    if bytes.len() as u64 > max {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(OpenedFile {
        file_name,
        size: bytes.len() as u64,
        content_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
    })
}

/// A byte count as the page writes it: 512 B, 1.0 MiB.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(name: &str, bytes: &[u8]) -> ExportedFile {
        ExportedFile {
            file_name: name.into(),
            content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            rows: 1,
        }
    }

    #[test]
    fn suggested_names_lose_folders_and_control_characters() {
        assert_eq!(suggested_name("aliases-example.com.xlsx"), "aliases-example.com.xlsx");
        assert_eq!(suggested_name("../../etc/passwd"), "passwd");
        assert_eq!(suggested_name("..\\evil\\x.csv"), "x.csv");
        assert_eq!(suggested_name("a\nb\u{7}.csv"), "ab.csv");
        assert_eq!(suggested_name(".hidden.xlsx"), "hidden.xlsx");
        assert_eq!(suggested_name("dir/"), "export");
        assert_eq!(save_filter("x.XLSX").1, &["xlsx"]);
        assert_eq!(save_filter("a.mobileconfig").1, &["mobileconfig"]);
        assert_eq!(save_filter("noext").1, &["*"]);
    }

    #[test]
    fn an_export_is_written_whole_and_replaces_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.xlsx");
        std::fs::write(&path, b"old").unwrap();
        let saved = write_export(&path, &export("out.xlsx", b"PK\x03\x04new")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"PK\x03\x04new");
        assert_eq!(saved, SavedFile { path: path.display().to_string(), bytes: 7 });
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("out.xlsx")], "no temporary file is left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "for the user alone");
        }
    }

    #[test]
    fn a_failed_save_says_where_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-folder").join("out.csv");
        let err = write_export(&path, &export("out.csv", b"a,b\n")).unwrap_err();
        assert!(err.message.starts_with("Could not save ") && err.message.contains("out.csv"), "{}", err.message);
        let bad = ExportedFile { content_base64: "not base64!".into(), ..export("x.csv", b"") };
        let target = dir.path().join("x.csv");
        assert!(write_export(&target, &bad).unwrap_err().message.contains("not valid base64"));
        assert!(!target.exists());
    }

    #[test]
    fn an_import_is_read_up_to_the_limit_and_refused_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.xlsx");
        std::fs::write(&path, vec![7u8; 1024]).unwrap();
        let opened = read_import(&path, 1024).unwrap();
        assert_eq!((opened.file_name.as_str(), opened.size), ("accounts.xlsx", 1024));
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(opened.content_base64).unwrap(), vec![7u8; 1024]);

        let err = read_import(&path, 1023).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("file"));
        assert_eq!(err.message, "accounts.xlsx has 1.0 KiB; an import file may have at most 1023 B.");
        let err = read_import(dir.path(), 1024).unwrap_err();
        assert!(err.message.ends_with("is not a file"), "{}", err.message);
        #[cfg(unix)]
        {
            // A named pipe is refused, not waited on.
            let fifo = dir.path().join("pipe.xlsx");
            assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
            assert!(read_import(&fifo, 1024).unwrap_err().message.ends_with("is not a file"));
        }
        let err = read_import(&dir.path().join("gone.xlsx"), 1024).unwrap_err();
        assert!(err.message.starts_with("Could not read "), "{}", err.message);
    }
}
