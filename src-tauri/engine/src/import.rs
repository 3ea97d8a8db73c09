//! Importing accounts from an XLSX file, and exporting them to one.
//!
//! `start_import` checks the whole file before it answers: the file itself (crate::xlsx),
//! then every row against the domain (address syntax and domain, duplicates in the file
//! and in the backend, password policy, departments, plan cap). Any problem refuses the
//! file with every problem listed by row and column, and nothing is written. A file that
//! passes becomes a job: passwords are hashed across all cores (the slow part: tens of
//! seconds for thousands), then everything is written in one transaction, which checks the
//! cap and the addresses once more. The caller polls `import_status` for the progress.
//! Jobs live in the engine's memory: an import in flight when the process stops never
//! committed anything.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::accounts::{self, Prepared, check_cap, load_many};
use super::audit::{self, Change};
use super::departments::{self, Tree};
use super::{EngineBackend, domain_id, domains, now};
use crate::api::*;
use crate::error::{Error, Result, RowError};
use crate::model::*;
use crate::sql::{self, Conn};
use crate::xlsx::{self, COLUMNS, ImportRow};
use crate::{password, validate};

/// Import jobs that have not finished at once, per engine.
const MAX_RUNNING: usize = 4;
/// How long a finished job's outcome can still be asked for.
const KEEP_FINISHED: Duration = Duration::from_secs(3600);

/// The import jobs of an engine.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    jobs: Mutex<HashMap<String, Arc<JobState>>>,
}

#[derive(Debug)]
struct JobState {
    job: Mutex<ImportJob>,
    /// Work done in the current phase, updated by the worker without the lock.
    done: Arc<AtomicU32>,
    finished: Mutex<Option<Instant>>,
}

impl JobState {
    fn snapshot(&self) -> ImportJob {
        let mut job = self.job.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if matches!(job.phase, ImportPhase::Hashing | ImportPhase::Writing) {
            job.done = self.done.load(Ordering::Relaxed).min(job.total);
        }
        job
    }

    fn enter(&self, phase: ImportPhase, total: u32) {
        let mut job = self.job.lock().unwrap_or_else(|e| e.into_inner());
        self.done.store(0, Ordering::Relaxed);
        job.phase = phase;
        job.done = 0;
        job.total = total;
    }

    fn finish(&self, error: Option<Error>) {
        let mut job = self.job.lock().unwrap_or_else(|e| e.into_inner());
        match error {
            None => {
                job.phase = ImportPhase::Done;
                job.done = job.total;
            }
            Some(e) => {
                job.phase = ImportPhase::Failed;
                job.done = self.done.load(Ordering::Relaxed).min(job.total);
                job.error = Some(e);
            }
        }
        *self.finished.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    fn is_finished(&self) -> bool {
        self.finished.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

impl Jobs {
    /// Registers a new job, forgetting finished ones past their keep time.
    fn add(&self, job: ImportJob) -> Result<Arc<JobState>> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.retain(|_, s| {
            s.finished.lock().unwrap_or_else(|e| e.into_inner()).is_none_or(|t| t.elapsed() < KEEP_FINISHED)
        });
        if jobs.values().filter(|s| !s.is_finished()).count() >= MAX_RUNNING {
            return Err(Error::unavailable(format!(
                "{MAX_RUNNING} imports are running on this backend; try again when one has finished"
            )));
        }
        let state =
            Arc::new(JobState { job: Mutex::new(job.clone()), done: Default::default(), finished: Mutex::new(None) });
        jobs.insert(job.id, state.clone());
        Ok(state)
    }

    fn get(&self, id: &str) -> Option<Arc<JobState>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An uploaded XLSX file of a synchronous import (aliases, BCC rules): its checked name,
/// and its rows as `read` gives them (the size bound before decoding, then the file checks
/// of [`xlsx`] off the async threads).
pub(crate) async fn read_upload<T: Send + 'static>(
    file_name: &str,
    content_base64: &str,
    read: fn(&[u8]) -> Result<T>,
) -> Result<(String, T)> {
    let file_name = validate::text("file_name", file_name, 255)?;
    let encoded = content_base64.trim();
    if encoded.len() > MAX_BASE64 {
        return Err(Error::validation(format!(
            "the file is about {} bytes; an import file may have at most {} bytes (1 MB)",
            encoded.len() / 4 * 3,
            xlsx::MAX_FILE_BYTES
        ))
        .with_field("file"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| Error::validation(format!("the file did not arrive as base64: {e}")).with_field("file"))?;
    let rows = tokio::task::spawn_blocking(move || read(&bytes))
        .await
        .map_err(|e| Error::internal(format!("reading the file failed: {e}")))??;
    Ok((file_name, rows))
}

/// Runs `write` off the async threads and wraps its bytes as an [`ExportedFile`].
pub(crate) async fn exported(
    file_name: String,
    rows: u32,
    write: impl FnOnce() -> Result<Vec<u8>> + Send + 'static,
) -> Result<ExportedFile> {
    let bytes = tokio::task::spawn_blocking(write)
        .await
        .map_err(|e| Error::internal(format!("writing the file failed: {e}")))??;
    Ok(ExportedFile { file_name, content_base64: encode(&bytes), rows })
}

/// Refuses a rule file whose `adding` rows would take the domain past `max` rules of `kind`
/// (it has `existing`).
pub(crate) fn check_rule_room(domain: &str, kind: &str, max: u32, existing: usize, adding: usize) -> Result<()> {
    if existing + adding > max as usize {
        return Err(Error::limit_exceeded(format!(
            "{domain} may have at most {max} {kind}; {existing} and {adding} from the file are {}",
            existing + adding
        ))
        .with_field("file"));
    }
    Ok(())
}

/// Audits the import of a rule file (its name, how many rules, the rules added) in the
/// caller's transaction; returns what the operation answers.
pub(crate) async fn audit_rule_import<T: serde::Serialize>(
    conn: &mut Conn,
    actor: &str,
    action: &str,
    domain: &str,
    file_name: &str,
    added: &[T],
) -> Result<ImportedRows> {
    let outcome = ImportedRows { added: added.len() as u32 };
    #[derive(serde::Serialize)]
    struct Imported<'a, T> {
        file_name: &'a str,
        added: u32,
        rules: &'a [T],
    }
    let record = Imported { file_name, added: outcome.added, rules: added };
    let change = Change { action, domain: Some(domain), target: file_name };
    audit::record::<(), _>(conn, actor, change, None, Some(&record)).await?;
    Ok(outcome)
}

/// An export's file name: `<kind>-<domain>-<YYYYMMDD>.xlsx`.
pub(crate) fn export_name(kind: &str, domain: &str) -> String {
    format!("{kind}-{domain}-{}.xlsx", now().get(..10).unwrap_or_default().replace('-', ""))
}

pub(crate) async fn template(b: &EngineBackend, _: AccountsTemplate) -> Result<ExportedFile> {
    b.caller.require_page(Page::Accounts)?;
    let bytes = tokio::task::spawn_blocking(xlsx::template)
        .await
        .map_err(|e| Error::internal(format!("making the template failed: {e}")))??;
    Ok(ExportedFile { file_name: "postdesk-accounts-template.xlsx".into(), content_base64: encode(&bytes), rows: 0 })
}

/// A cell's text checked like the API checks the field, the message without its field name.
fn text_cell(column: &str, value: &str, max: usize) -> std::result::Result<String, String> {
    validate::text(column, value, max).map_err(|e| e.message.trim_start_matches(column).trim_start().to_string())
}

/// A file row checked against the domain, ready to hash and write.
struct Checked {
    prepared: Prepared,
    password: Option<Password>,
    /// Department path segments, created if missing.
    department: Option<Vec<String>>,
}

/// Checks every row against the domain and the backend; all problems, by row and column.
async fn check_rows(
    b: &EngineBackend,
    conn: &mut Conn,
    domain: &str,
    tree: &Tree,
    rows: Vec<ImportRow>,
    force_password_change: bool,
) -> Result<(Vec<Checked>, Vec<String>)> {
    let mut errors: Vec<RowError> = Vec::new();
    let mut error = |row: u32, column: usize, message: String| {
        errors.push(RowError { row, column: COLUMNS[column].to_string(), message })
    };
    let may_create_departments = b.caller.require(Page::Departments, Some(domain)).is_ok();
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(rows.len());
    let mut checked = Vec::with_capacity(rows.len());
    // Every valid address, with its row, to look up in the backend (failed rows too, so a
    // row's problems are reported together).
    let mut valid: Vec<(u32, String)> = Vec::with_capacity(rows.len());
    let mut new_departments: Vec<String> = Vec::new();
    for r in rows {
        let mut ok = true;
        let addr = match r.address.trim() {
            "" => {
                error(r.row, 0, "is empty; every row needs the account's address".into());
                None
            }
            raw => match validate::address(raw) {
                Err(e) => {
                    error(r.row, 0, e.message);
                    None
                }
                Ok(a) if a.domain != domain => {
                    error(r.row, 0, format!("{} is not in {domain}, the domain being imported into", a.full()));
                    None
                }
                Ok(a) => match seen.get(&a.full()) {
                    Some(first) => {
                        error(r.row, 0, format!("{} appears twice in this file (also row {first})", a.full()));
                        None
                    }
                    None => {
                        seen.insert(a.full(), r.row);
                        valid.push((r.row, a.full()));
                        Some(a)
                    }
                },
            },
        };
        let display_name = text_cell(COLUMNS[1], &r.display_name, 128).unwrap_or_else(|m| {
            ok = false;
            error(r.row, 1, m);
            String::new()
        });
        let department = match r.department.trim() {
            "" => None,
            path => match validate::department_path(path) {
                Err(e) => {
                    ok = false;
                    error(r.row, 2, e.message);
                    None
                }
                Ok(segments) => {
                    if tree.find(&segments).is_none() {
                        let joined = segments.join("/");
                        if !may_create_departments {
                            ok = false;
                            error(
                                r.row,
                                2,
                                format!("{joined} does not exist, and {} may not create departments", b.caller.name),
                            );
                        } else if !new_departments.iter().any(|d| d.eq_ignore_ascii_case(&joined)) {
                            new_departments.push(joined);
                        }
                    }
                    Some(segments)
                }
            },
        };
        let password = match r.password.as_str() {
            "" => None,
            pw => match password::check_policy(pw) {
                Err(e) => {
                    ok = false;
                    error(r.row, 3, e.message);
                    None
                }
                Ok(()) => Some(Password(pw.to_string())),
            },
        };
        let notes = text_cell(COLUMNS[4], &r.notes, 2000).unwrap_or_else(|m| {
            ok = false;
            error(r.row, 4, m);
            String::new()
        });
        if let (Some(addr), true) = (addr, ok) {
            let prepared = Prepared {
                addr,
                display_name,
                notes,
                department: department.as_ref().map(|s| s.join("/")),
                hash: None,
                force_password_change: force_password_change && password.is_some(),
                quota_mb: None,
            };
            checked.push((r.row, Checked { prepared, password, department }));
        }
    }
    // Addresses already taken in the backend, by anything (deleted accounts included).
    let addresses: Vec<&String> = valid.iter().map(|(_, a)| a).collect();
    let taken: HashMap<String, (String, Option<String>)> = sql::addresses::taken(&mut *conn, &addresses)
        .await?
        .into_iter()
        .map(|(address, kind, status)| (address, (kind, status)))
        .collect();
    for (row, address) in &valid {
        if let Some((kind, status)) = taken.get(address) {
            let by = match (AddressKind::parse(kind), status.as_deref()) {
                (_, Some("deleted")) => "a deleted account in the recycle bin".to_string(),
                (Some(k), _) => k.describe().to_string(),
                (None, _) => kind.clone(),
            };
            errors.push(RowError {
                row: *row,
                column: COLUMNS[0].into(),
                message: format!("{address} is already used by {by}"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(xlsx::refusal(errors));
    }
    Ok((checked.into_iter().map(|(_, c)| c).collect(), new_departments))
}

/// Largest base64 text that can decode to at most `xlsx::MAX_FILE_BYTES`.
const MAX_BASE64: usize = xlsx::MAX_FILE_BYTES.div_ceil(3) * 4 + 4;

pub(crate) async fn start(b: &EngineBackend, p: StartImport) -> Result<ImportJob> {
    let domain_name = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain_name))?;
    let file_name = validate::text("file_name", &p.file_name, 255)?;
    let encoded = p.content_base64.trim();
    if encoded.len() > MAX_BASE64 {
        return Err(Error::validation(format!(
            "the file is about {} bytes; an import file may have at most {} bytes (1 MB)",
            encoded.len() / 4 * 3,
            xlsx::MAX_FILE_BYTES
        ))
        .with_field("file"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| Error::validation(format!("the file did not arrive as base64: {e}")).with_field("file"))?;
    let rows = tokio::task::spawn_blocking(move || xlsx::read_accounts(&bytes))
        .await
        .map_err(|e| Error::internal(format!("reading the file failed: {e}")))??;
    let force = p.force_password_change.unwrap_or(true);
    let (checked, new_departments) = {
        let mut conn = b.engine.read().await?;
        let domain = domains::load(&mut conn, &domain_name).await?;
        let did = domain_id(&mut conn, &domain_name).await?;
        let tree = Tree::load(&mut conn, did, &domain_name).await?;
        let checked = check_rows(b, &mut conn, &domain_name, &tree, rows, force).await?;
        check_cap(&domain, checked.0.len() as u32).map_err(|e| e.with_field("file"))?;
        checked
    };
    let passwords = checked.iter().filter(|c| c.password.is_some()).count() as u32;
    let job = ImportJob {
        id: hex::encode(rand::random::<[u8; 16]>()),
        domain: domain_name,
        file_name,
        phase: if passwords > 0 { ImportPhase::Hashing } else { ImportPhase::Writing },
        done: 0,
        total: if passwords > 0 { passwords } else { checked.len() as u32 },
        accounts: checked.len() as u32,
        new_departments,
        error: None,
    };
    let state = b.engine.jobs.add(job.clone())?;
    let backend = b.clone();
    tokio::spawn(async move {
        let outcome = run(&backend, &state, checked).await;
        state.finish(outcome.err());
    });
    Ok(job)
}

/// The job's work: hash, then write everything in one transaction.
async fn run(b: &EngineBackend, state: &JobState, checked: Vec<Checked>) -> Result<()> {
    let (domain_name, file_name) = {
        let job = state.job.lock().unwrap_or_else(|e| e.into_inner());
        (job.domain.clone(), job.file_name.clone())
    };
    let mut rows: Vec<(Prepared, Option<Vec<String>>)> = Vec::with_capacity(checked.len());
    let mut passwords = Vec::new();
    for (i, c) in checked.into_iter().enumerate() {
        if let Some(pw) = c.password {
            passwords.push((i, pw));
        }
        rows.push((c.prepared, c.department));
    }
    if !passwords.is_empty() {
        for (i, hash) in password::hash_many_counted(passwords, state.done.clone()).await? {
            rows[i].0.hash = Some(hash);
        }
    }
    state.enter(ImportPhase::Writing, rows.len() as u32);
    let mut tx = b.engine.write().await?;
    let domain = domains::load(&mut tx, &domain_name).await?;
    check_cap(&domain, rows.len() as u32)?;
    let did = domain_id(&mut tx, &domain_name).await?;
    let mut tree = Tree::load(&mut tx, did, &domain_name).await?;
    let mut created_departments = Vec::new();
    let at = now();
    for (prepared, department) in &rows {
        if let Some(segments) = department {
            created_departments.extend(departments::ensure(&mut tx, &mut tree, did, segments).await?.1);
        }
        accounts::insert(&mut tx, &domain, did, &tree, prepared, &at)
            .await
            .map_err(|e| Error { message: format!("{}: {}", prepared.addr.full(), e.message), ..e })?;
        state.done.fetch_add(1, Ordering::Relaxed);
    }
    let addresses: Vec<String> = rows.iter().map(|(p, _)| p.addr.full()).collect();
    let target = format!("{} accounts from {file_name}", addresses.len());
    let change = Change { action: "import_accounts", domain: Some(&domain_name), target: &target };
    let after = serde_json::json!({ "addresses": addresses, "departments_created": created_departments });
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&after)).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn status(b: &EngineBackend, p: ImportStatus) -> Result<ImportJob> {
    let state =
        b.engine.jobs.get(p.id.trim()).ok_or_else(|| {
            Error::not_found(format!("there is no import job {} (finished jobs are kept an hour)", p.id))
        })?;
    let job = state.snapshot();
    b.caller.require(Page::Accounts, Some(&job.domain))?;
    Ok(job)
}

/// Most accounts loaded per query while exporting.
const EXPORT_CHUNK: usize = 5000;

pub(crate) async fn export(b: &EngineBackend, p: ExportAccounts) -> Result<ExportedFile> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let tree = Tree::load(&mut conn, did, &domain).await?;
    let mut filter = accounts::filter(
        &tree,
        p.query.as_deref(),
        p.department.as_deref(),
        p.subdepartments,
        p.status,
        p.sort,
        p.descending,
    )?;
    let ids = filter.ids(&mut conn, did, 0, i64::MAX).await?;
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(EXPORT_CHUNK) {
        for a in load_many(&mut conn, &tree, chunk).await? {
            rows.push(xlsx::ExportRow {
                address: a.address,
                display_name: a.display_name,
                department: a.department.unwrap_or_default(),
                notes: a.notes,
                status: a.status.as_str().to_string(),
                quota_mb: a.quota_mb,
                aliases: a.aliases.join(", "),
                has_password: a.has_password,
                force_password_change: a.force_password_change,
                created_at: a.created_at,
            });
        }
    }
    drop(conn);
    let count = rows.len() as u32;
    let bytes = tokio::task::spawn_blocking(move || xlsx::write_accounts(&rows))
        .await
        .map_err(|e| Error::internal(format!("writing the export failed: {e}")))??;
    let date = now().get(..10).unwrap_or_default().replace('-', "");
    Ok(ExportedFile {
        file_name: format!("accounts-{domain}-{date}.xlsx"),
        content_base64: encode(&bytes),
        rows: count,
    })
}
