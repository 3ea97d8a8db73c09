//! Blobs as files: `<root>/<first two hex digits>/<name>`, each written to a temporary
//! file, fsynced, renamed into place and its folder fsynced, so a blob survives a crash
//! once [`Blobs::put`] returns. The file work runs on tokio's blocking threads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{BlobError, Blobs, Bytes, LOCAL, Result, check_name};

/// Blob files under one folder. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FsBlobs {
    root: Arc<Root>,
}

#[derive(Debug)]
struct Root {
    path: PathBuf,
    /// A private store (of an in-memory engine): removed with it.
    temporary: bool,
}

impl Drop for Root {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn io_error(what: &str, e: std::io::Error) -> BlobError {
    let message = format!("mail storage: {what}: {e}");
    if e.kind() == std::io::ErrorKind::NotFound {
        BlobError::not_found(message)
    } else {
        BlobError::unavailable(message)
    }
}

/// Opens a directory and fsyncs it, so a rename or creation inside it is durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BlobError::unavailable(format!("mail storage task failed: {e}")))?
}

impl FsBlobs {
    /// The store in `<data dir>/blobs`.
    pub fn in_dir(data_dir: &Path) -> FsBlobs {
        FsBlobs { root: Arc::new(Root { path: data_dir.join("blobs"), temporary: false }) }
    }

    /// A private store under the system's temporary folder, removed when the last clone goes.
    pub fn temporary() -> FsBlobs {
        let name = format!("postdesk-blobs-{}-{}", std::process::id(), hex::encode(rand::random::<[u8; 8]>()));
        FsBlobs { root: Arc::new(Root { path: std::env::temp_dir().join(name), temporary: true }) }
    }

    /// The file of blob `name`.
    pub fn path_of(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(self.root.path.join(&name[..2]).join(name))
    }

    /// The folder holding the blobs.
    pub fn root(&self) -> &Path {
        &self.root.path
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let dest = self.path_of(name)?;
        if dest.is_file() {
            return Ok(());
        }
        let dir = dest.parent().ok_or_else(|| BlobError::invalid("mail storage: blob without a folder"))?;
        let tmp_dir = self.root.path.join("tmp");
        for d in [&self.root.path, &tmp_dir, &dir.to_path_buf()] {
            if !d.is_dir() {
                std::fs::create_dir_all(d).map_err(|e| io_error("cannot create a folder", e))?;
                if let Some(parent) = d.parent() {
                    sync_dir(parent).map_err(|e| io_error("cannot sync a folder", e))?;
                }
            }
        }
        let tmp = tmp_dir.join(format!("{name}.{}", hex::encode(rand::random::<[u8; 6]>())));
        let written = (|| {
            let mut file = std::fs::File::create_new(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &dest)?;
            sync_dir(dir)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(|e| BlobError::unavailable(format!("mail storage: cannot write a message: {e}")))
    }

    /// Walks the store on a blocking thread, sending names as it finds them; stops when the
    /// receiver is gone.
    fn walk(&self, names: tokio::sync::mpsc::Sender<Result<String>>) {
        let top = match std::fs::read_dir(&self.root.path) {
            Ok(it) => it,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                let _ = names.blocking_send(Err(io_error("cannot list the store", e)));
                return;
            }
        };
        for dir in top.flatten() {
            let name = dir.file_name().to_string_lossy().into_owned();
            if name.len() != 2 || !dir.path().is_dir() {
                continue;
            }
            let files = match std::fs::read_dir(dir.path()) {
                Ok(files) => files,
                Err(e) => {
                    let _ = names.blocking_send(Err(io_error("cannot list the store", e)));
                    return;
                }
            };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if check_name(&name).is_ok() && names.blocking_send(Ok(name)).is_err() {
                    return;
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl Blobs for FsBlobs {
    fn location(&self) -> String {
        LOCAL.to_string()
    }

    async fn put(&self, name: &str, bytes: Bytes) -> Result<()> {
        let (store, name) = (self.clone(), name.to_string());
        blocking(move || store.write(&name, &bytes)).await
    }

    async fn get(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.path_of(name)?;
        let name = name.to_string();
        blocking(move || std::fs::read(path).map_err(|e| io_error(&format!("cannot read message {name}"), e))).await
    }

    async fn get_head(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        use std::io::Read;
        let path = self.path_of(name)?;
        let name = name.to_string();
        blocking(move || {
            let file = std::fs::File::open(path).map_err(|e| io_error(&format!("cannot read message {name}"), e))?;
            let mut head = Vec::new();
            file.take(limit).read_to_end(&mut head).map_err(|e| io_error(&format!("cannot read message {name}"), e))?;
            Ok(head)
        })
        .await
    }

    async fn size(&self, name: &str) -> Result<Option<u64>> {
        let path = self.path_of(name)?;
        blocking(move || match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("cannot read a message's size", e)),
        })
        .await
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let path = self.path_of(name)?;
        blocking(move || match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error("cannot remove a message", e)),
            _ => Ok(()),
        })
        .await
    }

    fn list(&self) -> futures::stream::BoxStream<'static, Result<String>> {
        use futures::StreamExt;
        let (send, receive) = tokio::sync::mpsc::channel(1024);
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.walk(send));
        futures::stream::unfold(receive, |mut r| async move { r.recv().await.map(|n| (n, r)) }).boxed()
    }
}
