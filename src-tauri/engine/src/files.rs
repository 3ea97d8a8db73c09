//! Files at rest: the data folder is its owner's alone. Shared by `postdesk serve` and the
//! desktop app, which both open the engine on a data folder (issue 15, item 7).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Creates `dir` (and missing parents) as 0700 whatever the umask; an existing folder is
/// left as it is ([`secure_data_dir`] corrects it).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700).create(dir)
}

/// Makes the data folder and every folder in it 0700 and every file 0600 (the database,
/// keys, spool and mail), whatever the umask they were made under, and says what was
/// looser, one warning per finding. SQLite gives its WAL and SHM files the database file's
/// mode; files made later (mail, spool segments) are inside the 0700 folder, and the spool
/// makes its own 0600. Symbolic links are neither followed nor changed.
pub fn secure_data_dir(dir: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut loose_files = 0usize;
    let mut pending = vec![dir.to_path_buf()];
    let fix = |path: &Path, want: u32| -> std::io::Result<Option<u32>> {
        let meta = std::fs::symlink_metadata(path)?;
        let mode = meta.permissions().mode() & 0o777;
        if meta.file_type().is_symlink() || mode & 0o077 == 0 {
            return Ok(None);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(want))?;
        Ok(Some(mode))
    };
    while let Some(folder) = pending.pop() {
        match fix(&folder, 0o700) {
            Ok(Some(mode)) if folder == dir => warnings
                .push(format!("the data folder {} was {mode:o} (others could read it); it is now 700", dir.display())),
            Ok(Some(_)) => loose_files += 1,
            Ok(None) => {}
            Err(e) => warnings.push(format!("cannot check {}: {e}", folder.display())),
        }
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_file() => match fix(&path, 0o600) {
                    Ok(Some(_)) => loose_files += 1,
                    Ok(None) => {}
                    Err(e) => warnings.push(format!("cannot check {}: {e}", path.display())),
                },
                _ => {}
            }
        }
    }
    if loose_files > 0 {
        warnings.push(format!(
            "{loose_files} files or folders in {} could be read by others; they are now 600 (folders 700)",
            dir.display()
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// A folder made by a shell under umask 022 (what a desktop session usually has): the
    /// folder 755, files 644, a sub-folder 755 and a symbolic link out of the folder.
    #[test]
    fn a_tree_made_under_umask_022_becomes_private_and_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        let dir = tmp.path().join("data");
        let made = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask 022 && touch '{o}' && mkdir -p '{d}/mail/ab' && touch '{d}/postdesk.db' '{d}/smtp-key.pem' \
                 '{d}/mail/ab/1' && ln -s '{o}' '{d}/link'",
                o = outside.display(),
                d = dir.display()
            ))
            .status()
            .unwrap();
        assert!(made.success());
        assert_eq!(mode(&dir), 0o755);
        assert_eq!(mode(&dir.join("postdesk.db")), 0o644);

        let warnings = secure_data_dir(&dir);
        assert_eq!(mode(&dir), 0o700);
        for folder in ["mail", "mail/ab"] {
            assert_eq!(mode(&dir.join(folder)), 0o700, "{folder}");
        }
        for file in ["postdesk.db", "smtp-key.pem", "mail/ab/1"] {
            assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
        }
        // The link's target is not ours to change.
        assert_eq!(mode(&outside), 0o644);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("was 755 (others could read it); it is now 700"), "{warnings:?}");
        assert!(warnings[1].starts_with("5 files or folders in "), "{warnings:?}");
        // Once private, nothing more to say.
        assert!(secure_data_dir(&dir).is_empty());
    }

    #[test]
    fn a_new_data_folder_is_private_whatever_the_umask() {
        let tmp = tempfile::tempdir().unwrap();
        // The control: the test's own umask lets others read what plain create_dir_all makes
        // (022 on CI and desktops), so the private folder below is not the umask's doing.
        let plain = tmp.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        assert_ne!(mode(&plain) & 0o077, 0, "run the tests under a umask such as 022");
        let dir = tmp.path().join("a/b/data");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
    }
}
