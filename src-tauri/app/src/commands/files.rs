//! Commands that save an export and open an import through the OS's own dialogs (GTK's
//! file chooser on Linux). The page passes the export's bytes or the kind of file wanted;
//! the path is chosen by the user in the dialog and never comes from the page.

use postdesk_contract::Error;
use postdesk_contract::model::ExportedFile;
use tauri::AppHandle;
use tauri_plugin_dialog::DialogExt;

use crate::files::{self, MAX_OPEN_BYTES, OpenKind, OpenedFile, SavedFile};

/// Asks where to save `file` (its own name suggested) and writes it there; `None` when the
/// user cancels the dialog.
#[tauri::command]
pub async fn save_file(app: AppHandle, file: ExportedFile) -> Result<Option<SavedFile>, Error> {
    blocking(move || {
        let name = files::suggested_name(&file.file_name);
        let (label, extensions) = files::save_filter(&name);
        let picked = app
            .dialog()
            .file()
            .set_title("Save as")
            .set_file_name(&name)
            .add_filter(label, extensions)
            .blocking_save_file();
        match picked {
            None => Ok(None),
            Some(path) => {
                let path = path.into_path().map_err(|e| Error::validation(format!("Not a local file: {e}")))?;
                files::write_export(&path, &file).map(Some)
            }
        }
    })
    .await
}

/// Asks for a file of `kind` to import and reads it (at most the import limit); `None` when
/// the user cancels the dialog.
#[tauri::command]
pub async fn open_file(app: AppHandle, kind: OpenKind) -> Result<Option<OpenedFile>, Error> {
    blocking(move || {
        let (label, extensions) = kind.filter();
        let picked =
            app.dialog().file().set_title("Choose a file to import").add_filter(label, extensions).blocking_pick_file();
        match picked {
            None => Ok(None),
            Some(path) => {
                let path = path
                    .into_path()
                    .map_err(|e| Error::validation(format!("Not a local file: {e}")).with_field("file"))?;
                files::read_import(&path, MAX_OPEN_BYTES).map(Some)
            }
        }
    })
    .await
}

/// Runs a dialog and its file work off the async workers (the dialog itself runs on the
/// main thread; this thread waits for the user).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, Error> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal(format!("the file dialog failed: {e}")))?
}
