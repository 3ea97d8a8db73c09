//! Shared harness for the end-to-end tests: a backend under test, in-process or remote
//! (the real server on loopback over TLS, reached with the real client).
#![forbid(unsafe_code)]

use std::sync::Arc;

use postdesk_client::{Options, RemoteBackend, Token};
use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_engine::Engine;
use postdesk_server::tls::Identity;

pub mod dovecot;
pub mod graph;
pub mod postgres;

/// Declares contract tests: each `async fn name(h: Harness)` of the including file runs
/// three times, as `local::name` (in-process), `remote::name` (client → server over TLS)
/// and `postgres::name` (in-process, the engine on PostgreSQL).
#[macro_export]
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod local {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::Harness::new($crate::Kind::Local).await).await } )*
        }
        mod remote {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::Harness::new($crate::Kind::Remote).await).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::Harness::new($crate::Kind::Postgres).await).await } )*
        }
    };
}

/// Which implementation a harness drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `LocalBackend` in this process.
    Local,
    /// `RemoteBackend` → `postdesk serve` router over TLS on 127.0.0.1.
    Remote,
    /// `LocalBackend` in this process, the engine on a PostgreSQL database of its own.
    Postgres,
}

/// A fresh backend with an empty database.
pub struct Harness {
    /// Which implementation this is.
    pub kind: Kind,
    /// The engine underneath (also for remote: the server's), for checks behind the API.
    pub engine: Engine,
    /// The backend acting as the owner.
    pub owner: Arc<dyn Backend>,
    server: Option<(String, Identity)>,
    /// The PostgreSQL database's address (a `Postgres` harness).
    database: Option<Arc<postgres::Database>>,
    _dir: Option<tempfile::TempDir>,
    _stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The engine on the data folder `dir`: its own SQLite database, or `database` (PostgreSQL).
async fn open(dir: &std::path::Path, database: Option<&str>) -> postdesk_contract::Result<Engine> {
    match database {
        Some(url) => Engine::open_postgres(dir, url, None).await,
        None => Engine::open(dir).await,
    }
}

impl Harness {
    /// A harness of the given kind over a fresh on-disk database.
    pub async fn new(kind: Kind) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = match kind {
            Kind::Postgres => Some(Arc::new(postgres::fresh_database().await)),
            Kind::Local | Kind::Remote => None,
        };
        let engine = open(dir.path(), database.as_deref().map(postgres::Database::url)).await.expect("open engine");
        let first = engine.ensure_first_admin().await.expect("first admin").expect("fresh database");
        let mut h = Self::start(kind, engine, &first.token.secret, Some(dir)).await;
        h.database = database;
        h
    }

    /// Another harness on this one's database, whose DNS wizard asks `dns_server`.
    pub async fn reopen(&self, kind: Kind, dns_server: Option<std::net::SocketAddr>) -> Harness {
        let dir = self.engine.data_dir().expect("on-disk harness");
        let engine = open(dir, self.database.as_deref().map(postgres::Database::url))
            .await
            .expect("reopen engine")
            .with_dns_server(dns_server);
        let token = engine
            .local_backend()
            .create_token(CreateToken { admin: "owner".into(), label: Some("reopen".into()), expires_in_days: None })
            .await
            .expect("token");
        let mut h = Self::start(kind, engine, &token.secret, None).await;
        h.database = self.database.clone();
        h
    }

    async fn start(kind: Kind, engine: Engine, secret: &str, dir: Option<tempfile::TempDir>) -> Harness {
        match kind {
            Kind::Local | Kind::Postgres => Harness {
                kind,
                owner: Arc::new(engine.local_backend()),
                engine,
                server: None,
                database: None,
                _dir: dir,
                _stop: None,
            },
            Kind::Remote => {
                let identity = Identity::self_signed(&["localhost".into(), "127.0.0.1".into()]).expect("cert");
                let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let url = format!("https://127.0.0.1:{}", tcp.local_addr().expect("addr").port());
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let router = postdesk_server::router(engine.clone());
                let config = identity.server_config().expect("tls config");
                tokio::spawn(postdesk_server::serve(router, tcp, Some(config), async {
                    let _ = stopped.await;
                }));
                let mut h = Harness {
                    kind,
                    owner: Arc::new(engine.local_backend()),
                    engine,
                    server: Some((url, identity)),
                    database: None,
                    _dir: dir,
                    _stop: Some(stop),
                };
                h.owner = h.remote(secret);
                h
            }
        }
    }

    fn remote(&self, secret: &str) -> Arc<dyn Backend> {
        let (url, identity) = self.server.as_ref().expect("remote harness");
        let options = Options { ca_cert_pem: Some(identity.cert_pem.clone()), timeout: None };
        Arc::new(RemoteBackend::new(url, Token::new(secret), options).expect("client"))
    }

    /// A backend acting with the API token `secret` (through the server for a remote
    /// harness, through `Engine::authenticate` for a local one).
    pub async fn with_token(&self, secret: &str) -> postdesk_contract::Result<Arc<dyn Backend>> {
        Ok(match self.kind {
            Kind::Local | Kind::Postgres => Arc::new(self.engine.backend_for(self.engine.authenticate(secret).await?)),
            Kind::Remote => self.remote(secret),
        })
    }

    /// Everything the database holds, as bytes: the SQLite files of the data folder, or a
    /// PostgreSQL database's dump (for checks that a secret never reaches it).
    pub fn stored_bytes(&self) -> Vec<u8> {
        if let Some(database) = &self.database {
            let out = std::process::Command::new("pg_dump")
                .arg("--data-only")
                .arg(database.url())
                .output()
                .expect("pg_dump runs");
            assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
            return out.stdout;
        }
        let dir = self.engine.data_dir().expect("on-disk harness");
        let mut all = Vec::new();
        for name in ["postdesk.db", "postdesk.db-wal", "postdesk.db-shm"] {
            all.extend(std::fs::read(dir.join(name)).unwrap_or_default());
        }
        all
    }

    /// The server's base URL (remote harness only).
    pub fn url(&self) -> Option<&str> {
        self.server.as_ref().map(|(u, _)| u.as_str())
    }

    /// The server's certificate PEM (remote harness only).
    pub fn cert_pem(&self) -> Option<&str> {
        self.server.as_ref().map(|(_, i)| i.cert_pem.as_str())
    }

    /// Creates an admin through the owner and returns a backend acting as it, plus its token.
    pub async fn admin(
        &self,
        name: &str,
        role: Role,
        pages: &[Page],
        domains: Option<&[&str]>,
    ) -> (Arc<dyn Backend>, String) {
        self.owner
            .create_admin(CreateAdmin {
                name: name.into(),
                role,
                pages: Some(pages.to_vec()),
                domains: domains.map(|d| d.iter().map(|s| s.to_string()).collect()),
            })
            .await
            .expect("create admin");
        let token =
            self.owner.create_token(CreateToken { admin: name.into(), ..Default::default() }).await.expect("token");
        let backend: Arc<dyn Backend> = match self.kind {
            Kind::Local | Kind::Postgres => {
                Arc::new(self.engine.backend_for(self.engine.authenticate(&token.secret).await.expect("auth")))
            }
            Kind::Remote => self.remote(&token.secret),
        };
        (backend, token.secret)
    }

    /// Creates a domain with the given account cap.
    pub async fn domain(&self, name: &str, max_accounts: u32) -> Domain {
        let limits = PlanLimits { max_accounts, ..PlanLimits::default() };
        self.owner
            .create_domain(CreateDomain { domain: name.into(), limits: Some(limits), ..Default::default() })
            .await
            .expect("create domain")
    }

    /// Creates an account with defaults.
    pub async fn account(&self, address: &str, department: Option<&str>) -> Account {
        self.owner.create_account(new_account(address, department)).await.expect("create account")
    }

    /// Number of audit entries (to show a refused change recorded nothing).
    pub async fn audit_count(&self) -> u32 {
        self.owner.list_audit(ListAudit { limit: Some(1), ..Default::default() }).await.expect("audit").total
    }
}

/// Runs any operation on a backend: the one generic way to call an operation, for tests
/// that treat operations as data (`call(b, GetDomain { domain: "example.com".into() })`).
pub async fn call<O: Operation>(backend: &dyn Backend, params: O) -> postdesk_contract::Result<O::Output> {
    params.invoke(backend).await
}

/// Asserts that `result` is a refusal with `code` whose message contains `needle`, and
/// returns the error for further checks.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(
    result: postdesk_contract::Result<T>,
    code: postdesk_contract::ErrorCode,
    needle: &str,
) -> postdesk_contract::Error {
    let err = result.expect_err("expected a refusal");
    assert_eq!(err.code, code, "{err:?}");
    assert!(err.message.contains(needle), "message {:?} lacks {needle:?}", err.message);
    err
}

/// Params for a plain account.
pub fn new_account(address: &str, department: Option<&str>) -> CreateAccount {
    CreateAccount { address: address.into(), department: department.map(String::from), ..Default::default() }
}

/// Params setting every domain's relay (`smtp.relay.example:587`, PLAIN as `relay-user`) with
/// the password `secret`.
pub fn relay_with_password(secret: &str) -> SetRelay {
    SetRelay {
        host: "smtp.relay.example".into(),
        port: 587,
        auth: Some(postdesk_contract::relay::RelayAuth::Plain),
        username: Some("relay-user".into()),
        secret: Some(RelaySecret(secret.into())),
        ..Default::default()
    }
}

/// Params listing a domain's accounts with defaults.
pub fn list_accounts(domain: &str) -> ListAccounts {
    ListAccounts { domain: domain.into(), ..Default::default() }
}

/// An XLSX workbook whose first sheet holds `rows` of text from A1 (empty strings are
/// left empty), as the import expects it.
pub fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32, c as u16, v).expect("cell");
            }
        }
    }
    book.save_to_buffer().expect("xlsx")
}

/// The import template's header row.
pub fn import_header() -> Vec<String> {
    postdesk_xlsx::COLUMNS.iter().map(|c| c.to_string()).collect()
}

/// Starts importing `bytes` into `domain`.
pub async fn start_import(b: &dyn Backend, domain: &str, bytes: &[u8]) -> postdesk_contract::Result<ImportJob> {
    use base64::Engine as _;
    b.start_import(StartImport {
        domain: domain.into(),
        file_name: "accounts.xlsx".into(),
        content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        ..Default::default()
    })
    .await
}

/// Polls an import job until it is done or failed; returns every phase seen, in order,
/// with the last state.
pub async fn finish_import(b: &dyn Backend, id: &str) -> (Vec<ImportPhase>, ImportJob) {
    let mut phases = Vec::new();
    for _ in 0..6000 {
        let job = b.import_status(ImportStatus { id: id.into() }).await.expect("import status");
        if phases.last() != Some(&job.phase) {
            phases.push(job.phase);
        }
        if matches!(job.phase, ImportPhase::Done | ImportPhase::Failed) {
            return (phases, job);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("import {id} did not finish in two minutes");
}

/// A small RFC 5322 message.
pub fn message(from: &str, subject: &str, body: &str) -> Vec<u8> {
    mail_builder::MessageBuilder::new()
        .from(from)
        .to("someone@example.com")
        .subject(subject)
        .text_body(body)
        .write_to_vec()
        .expect("message")
}
