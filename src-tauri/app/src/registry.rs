//! The list of remote backends, kept in `backends.json` in the data folder.
//!
//! Invariants: the file holds only what is not secret (id, name, URL, extra trusted
//! certificate); tokens live in the OS keyring under the backend's id. Writes go to a
//! temporary file that is then renamed over the old one, so a crash never leaves half a
//! list. Ids are unique, never `local`, and stable once given.

use std::path::{Path, PathBuf};

use postdesk_contract::{Error, Result};
use serde::{Deserialize, Serialize};

/// The id of the bundled backend; no remote backend may take it.
pub const LOCAL_ID: &str = "local";

/// File name of the list inside the data folder.
pub const FILE_NAME: &str = "backends.json";

/// A remote backend as stored: everything but its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteEntry {
    /// Stable id, also the keyring account of its token.
    pub id: String,
    /// Name shown in the sidebar.
    pub name: String,
    /// Base URL of its admin API.
    pub url: String,
    /// Extra trusted certificate (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_pem: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    backends: Vec<RemoteEntry>,
}

/// The remote backends, in the order they were added.
#[derive(Debug)]
pub struct Registry {
    path: PathBuf,
    entries: Vec<RemoteEntry>,
}

impl Registry {
    /// Loads the list from `data_dir` (empty when the file does not exist yet).
    pub fn load(data_dir: &Path) -> Result<Registry> {
        let path = data_dir.join(FILE_NAME);
        let entries = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice::<File>(&bytes)
                    .map_err(|e| Error::internal(format!("{} is damaged: {e}", path.display())))?
                    .backends
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::internal(format!("cannot read {}: {e}", path.display()))),
        };
        Ok(Registry { path, entries })
    }

    /// All entries.
    pub fn entries(&self) -> &[RemoteEntry] {
        &self.entries
    }

    /// The entry with `id`.
    pub fn get(&self, id: &str) -> Option<&RemoteEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The entry with this URL (compared without a trailing slash), if any.
    pub fn find_url(&self, url: &str) -> Option<&RemoteEntry> {
        let url = url.trim_end_matches('/');
        self.entries.iter().find(|e| e.url.trim_end_matches('/').eq_ignore_ascii_case(url))
    }

    /// A fresh id for a backend called `name`: its slug, made unique.
    pub fn new_id(&self, name: &str) -> String {
        let mut slug = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.len() >= 40 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        let base = if slug.is_empty() { "remote" } else { slug };
        let taken = |id: &str| id == LOCAL_ID || self.get(id).is_some();
        if !taken(base) {
            return base.to_string();
        }
        (2..).map(|n| format!("{base}-{n}")).find(|id| !taken(id)).unwrap_or_default()
    }

    /// Adds an entry and saves the list.
    pub fn add(&mut self, entry: RemoteEntry) -> Result<()> {
        if entry.id == LOCAL_ID || self.get(&entry.id).is_some() {
            return Err(Error::conflict(format!("a backend with id {} exists", entry.id)));
        }
        self.entries.push(entry);
        if let Err(e) = self.save() {
            self.entries.pop();
            return Err(e);
        }
        Ok(())
    }

    /// Removes the entry with `id` and saves the list; returns it.
    pub fn remove(&mut self, id: &str) -> Result<RemoteEntry> {
        let index = self
            .entries
            .iter()
            .position(|e| e.id == id)
            .ok_or_else(|| Error::not_found(format!("no backend with id {id}")))?;
        let entry = self.entries.remove(index);
        if let Err(e) = self.save() {
            self.entries.insert(index, entry);
            return Err(e);
        }
        Ok(entry)
    }

    fn save(&self) -> Result<()> {
        let file = File { version: 1, backends: self.entries.clone() };
        let json = serde_json::to_vec_pretty(&file)?;
        write_atomically(&self.path, &json)
    }
}

/// The settings file `path` (JSON), or `T::default()` when there is none yet.
pub(crate) fn load_settings_file<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| Error::internal(format!("{} is damaged: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(Error::internal(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Saves `settings` as pretty JSON in `path`, atomically.
pub(crate) fn save_settings_file<T: Serialize>(path: &Path, settings: &T) -> Result<()> {
    write_atomically(path, &serde_json::to_vec_pretty(settings)?)
}

/// Writes `bytes` to a sibling temporary file, syncs it and renames it over `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let fail = |e: std::io::Error| Error::internal(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> RemoteEntry {
        RemoteEntry { id: id.into(), name: id.into(), url: format!("https://{id}.example:8443"), ca_cert_pem: None }
    }

    #[test]
    fn ids_are_slugs_unique_and_never_local() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Registry::load(dir.path()).unwrap();
        assert_eq!(reg.new_id("Head Office (Berlin)"), "head-office-berlin");
        assert_eq!(reg.new_id("  ***  "), "remote");
        assert_eq!(reg.new_id("Local"), "local-2");
        assert_eq!(reg.new_id("Zürich"), "z-rich");
        reg.add(entry("head-office")).unwrap();
        assert_eq!(reg.new_id("Head office"), "head-office-2");
        assert!(reg.add(entry("head-office")).is_err());
        assert!(reg.add(entry("local")).is_err());
    }

    #[test]
    fn the_list_survives_a_reload_and_holds_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Registry::load(dir.path()).unwrap();
        assert!(reg.entries().is_empty());
        reg.add(entry("a")).unwrap();
        reg.add(RemoteEntry { ca_cert_pem: Some("-----BEGIN CERTIFICATE-----".into()), ..entry("b") }).unwrap();
        let again = Registry::load(dir.path()).unwrap();
        assert_eq!(again.entries(), reg.entries());
        assert_eq!(again.find_url("https://B.example:8443/").map(|e| e.id.as_str()), Some("b"));

        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["backends"][0], serde_json::json!({"id": "a", "name": "a", "url": "https://a.example:8443"}));
        assert!(!text.contains("token"));

        reg.remove("a").unwrap();
        assert!(reg.remove("a").is_err());
        let again = Registry::load(dir.path()).unwrap();
        assert_eq!(again.entries().len(), 1);
    }

    #[test]
    fn a_damaged_file_is_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        let err = Registry::load(dir.path()).unwrap_err();
        assert_eq!(err.code, postdesk_contract::ErrorCode::Internal);
        assert!(err.message.contains("damaged"), "{err:?}");
    }
}
