//! Account listings of a big domain, through the admin HTTP API: `ACCOUNTS_BENCH_N` accounts
//! (default 100,000) in one domain, spread over five departments, then pages of 50 timed as
//! a client of `GET /api/domains/{domain}/accounts` sees them (loopback, plain HTTP) and
//! in-process (the engine alone): filters by a substring of address or name (narrow, broad,
//! matching every row, two letters), by status, sorts, and deep pages; then as many aliases
//! (each to one of the accounts) and one mail group per 50 accounts, filtered the same way
//! (`GET …/aliases`, `GET …/groups`); then the address book.
//!
//!     cargo bench -p postdesk-server --bench accounts        # ACCOUNTS_BENCH_N=… to change N
//!
//! With `ACCOUNTS_BENCH_DATABASE=postgres://…` (an empty database) the engine runs on
//! PostgreSQL instead of a SQLite data folder. Adding `ACCOUNTS_BENCH_REUSE=1` reuses the
//! domain an earlier run made in that database (a million accounts take minutes to make):
//! only the account listings are timed then, engine-side.
//!
//! A benchmark, not a test: it prints figures (see docs/BENCHMARKS.md).

use std::time::{Duration, Instant};

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::settings::Settings;
use postdesk_engine::Engine;

const D: &str = "bench.example";

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:>6.2} ms, p90 {:>6.2} ms, max {:>6.2} ms",
        ms(v[v.len() / 2]),
        ms(v[v.len() * 9 / 10]),
        ms(v[v.len() - 1])
    )
}

/// How long one GET of `url` takes, answer read to the end (it must succeed).
async fn over_http(http: &reqwest::Client, url: &str, token: &str) -> Duration {
    let t = Instant::now();
    let r = http.get(url).bearer_auth(token).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let _ = r.bytes().await.unwrap();
    t.elapsed()
}

fn list(query: Option<&str>) -> ListAccounts {
    ListAccounts { domain: D.into(), query: query.map(String::from), limit: Some(50), ..Default::default() }
}

async fn run() {
    let n: usize = std::env::var("ACCOUNTS_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    // ACCOUNTS_BENCH_DATABASE=postgres://…: the same on an empty PostgreSQL database.
    let database = std::env::var("ACCOUNTS_BENCH_DATABASE").ok().filter(|s| !s.is_empty());
    let engine = match &database {
        Some(url) => Engine::open_postgres(dir.path(), url, None).await.unwrap(),
        None => Engine::open(dir.path()).await.unwrap(),
    };
    let store = if database.is_some() { "PostgreSQL" } else { "SQLite on disk, WAL, synchronous=FULL" };
    let backend = engine.local_backend();
    if database.is_some() && std::env::var("ACCOUNTS_BENCH_REUSE").is_ok_and(|v| v == "1") {
        let made = backend.list_accounts(ListAccounts { exact_total: Some(true), ..list(None) }).await.unwrap();
        println!("{} accounts in {D}, made by an earlier run ({store})\n", made.total);
        for (name, p) in cases(made.total as u32) {
            let found = backend.list_accounts(p.clone()).await.unwrap();
            let mut inproc = Vec::new();
            for _ in 0..20 {
                let t = Instant::now();
                backend.list_accounts(p.clone()).await.unwrap();
                inproc.push(t.elapsed());
            }
            let total = if found.total_capped { format!("more than {}", found.total) } else { found.total.to_string() };
            println!("{name}: {} of {total}\n    engine {}", found.items.len(), stats(inproc));
        }
        return;
    }
    let token = engine.ensure_first_admin().await.unwrap().unwrap().token.secret;
    let limits = PlanLimits { max_accounts: n as u32 + 10, ..PlanLimits::default() };
    backend.create_domain(CreateDomain { domain: D.into(), limits: Some(limits), group: None }).await.unwrap();
    let departments = ["Sales/East", "Sales/West", "Support", "Ops/Night", "Board"];
    for path in departments {
        let p = CreateDepartment { domain: D.into(), path: path.into(), parents: Some(true) };
        backend.create_department(p).await.unwrap();
    }
    let t = Instant::now();
    for first in (0..n).step_by(10_000) {
        let accounts = (first..(first + 10_000).min(n))
            .map(|i| CreateAccount {
                address: format!("user{i:06}@{D}"),
                display_name: Some(format!("User {i} {}", ["Lee", "Ng", "Smith", "García", "Müller"][i % 5])),
                department: Some(departments[i % 5].into()),
                ..Default::default()
            })
            .collect();
        backend.create_accounts(CreateAccounts { domain: D.into(), accounts }).await.unwrap();
    }
    // A few disabled ones: a status filter that keeps little.
    for i in (0..n).step_by(1_000) {
        let p = UpdateAccount {
            address: format!("user{i:06}@{D}"),
            status: Some(AccountStatus::Disabled),
            ..Default::default()
        };
        backend.update_account(p).await.unwrap();
    }
    println!("{n} accounts in {D}, made in {:.1} s ({store})\n", t.elapsed().as_secs_f64());

    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let router = postdesk_server::router(engine.clone());
    tokio::spawn(postdesk_server::serve_with(router, tcp, None, Default::default(), std::future::pending()));
    let http = reqwest::Client::new();
    for (name, p) in cases(n as u32) {
        let mut api = Vec::new();
        let mut inproc = Vec::new();
        let mut found = (0, 0, false);
        for _ in 0..20 {
            let t = Instant::now();
            let page = backend.list_accounts(p.clone()).await.unwrap();
            inproc.push(t.elapsed());
            found = (page.items.len(), page.total, page.total_capped);
            let url = format!("http://{addr}/api/domains/{D}/accounts?{}", serde_urlencoded::to_string(&p).unwrap());
            api.push(over_http(&http, &url, &token).await);
        }
        let total = if found.2 { format!("more than {}", found.1) } else { found.1.to_string() };
        println!("{name}: {} of {total}\n    HTTP   {}\n    engine {}", found.0, stats(api), stats(inproc));
    }

    aliases_and_groups(&backend, &http, &addr.to_string(), &token, n).await;

    // The company address book of the same domain: 5,000 accounts and the Board hide
    // themselves (account and department settings), the rest show, by department and name.
    let hidden = (0..n).step_by(20).map(|i| format!("user{i:06}@{D}")).take(5_000).collect();
    let hide = Settings { address_book: Some(false), ..Default::default() };
    let p = UpdateSettings {
        domain: D.into(),
        target: BatchTarget::Accounts { addresses: hidden },
        set: Some(hide.clone()),
        clear: None,
    };
    backend.update_settings(p).await.unwrap();
    let board = BatchTarget::Department { path: "Board".into(), subdepartments: None };
    backend
        .update_settings(UpdateSettings { domain: D.into(), target: board, set: Some(hide), clear: None })
        .await
        .unwrap();
    let book = |query: Option<&str>| ListAddressBook {
        domain: D.into(),
        query: query.map(String::from),
        after: None,
        limit: Some(50),
    };
    let mut page_10 = book(None);
    for _ in 0..9 {
        page_10.after = backend.list_address_book(page_10.clone()).await.unwrap().next;
    }
    for (name, p) in [
        ("address book, first page".to_string(), book(None)),
        ("address book, page 10 (cursor)".into(), page_10),
        ("address book, search \"r 4242 \"".into(), book(Some("r 4242 "))),
        ("address book, search \"smith\" (20 %)".into(), book(Some("smith"))),
    ] {
        let mut api = Vec::new();
        let mut inproc = Vec::new();
        let mut found = (0, 0, 0);
        for _ in 0..10 {
            let t = Instant::now();
            let page = backend.list_address_book(p.clone()).await.unwrap();
            inproc.push(t.elapsed());
            found = (page.departments.iter().map(|d| d.entries.len()).sum::<usize>(), page.shown, page.hidden);
            let url =
                format!("http://{addr}/api/domains/{D}/address-book?{}", serde_urlencoded::to_string(&p).unwrap());
            api.push(over_http(&http, &url, &token).await);
        }
        println!(
            "{name}: {} of {} shown, {} hidden\n    HTTP   {}\n    engine {}",
            found.0,
            found.1,
            found.2,
            stats(api),
            stats(inproc)
        );
    }
    // After a change the book is ranked anew: the first page then reads the whole domain.
    let mut cold = Vec::new();
    for k in 0..10 {
        let show = Settings { address_book: Some(k % 2 == 0), ..Default::default() };
        let target = BatchTarget::Accounts { addresses: vec![format!("user{:06}@{D}", 1 + k)] };
        backend
            .update_settings(UpdateSettings { domain: D.into(), target, set: Some(show), clear: None })
            .await
            .unwrap();
        let t = Instant::now();
        backend.list_address_book(book(None)).await.unwrap();
        cold.push(t.elapsed());
    }
    println!("address book, first page right after a change (ranked anew)\n    engine {}", stats(cold));
    engine.close().await;
}

/// `n` aliases (`alias000000@…`, each to the account of its number, described "Alias i
/// Sales" …), imported 5,000 at a time, and `n / 50` mail groups of 5 members; then their
/// listings, filtered and paged, timed over HTTP and in the engine.
/// The listings timed, in a domain of `n` accounts.
fn cases(n: u32) -> Vec<(String, ListAccounts)> {
    let deep = (n * 9 / 10) / 50 * 50;
    vec![
        ("no filter, first page".into(), list(None)),
        (format!("no filter, page at offset {deep}"), ListAccounts { offset: Some(deep), ..list(None) }),
        ("address substring, narrow (\"ser0042\", 100 rows)".into(), list(Some("ser0042"))),
        ("name substring, narrow (\"r 4242 \")".into(), list(Some("r 4242 "))),
        (
            "name, broad (\"smith\", 20 %), sorted by name".into(),
            ListAccounts { sort: Some(AccountSort::DisplayName), ..list(Some("smith")) },
        ),
        ("every row matches (\"bench\")".into(), list(Some("bench"))),
        ("every row matches, page at offset 5000".into(), ListAccounts { offset: Some(5_000), ..list(Some("bench")) }),
        ("two letters (\"ng\")".into(), list(Some("ng"))),
        ("two letters, none match (\"zq\")".into(), list(Some("zq"))),
        ("status disabled (0.1 %)".into(), ListAccounts { status: Some(AccountStatus::Disabled), ..list(None) }),
        ("department Sales (40 %)".into(), ListAccounts { department: Some("Sales".into()), ..list(None) }),
        (
            "sorted by name, descending".into(),
            ListAccounts { sort: Some(AccountSort::DisplayName), descending: Some(true), ..list(None) },
        ),
        ("sorted by department".into(), ListAccounts { sort: Some(AccountSort::Department), ..list(None) }),
        (
            "sorted by creation, page at offset 50000".into(),
            ListAccounts { sort: Some(AccountSort::CreatedAt), offset: Some(50_000), ..list(None) },
        ),
        (
            "\"bench\" counted exactly (exact_total)".into(),
            ListAccounts { exact_total: Some(true), ..list(Some("bench")) },
        ),
    ]
}

async fn aliases_and_groups(backend: &dyn Backend, http: &reqwest::Client, addr: &str, token: &str, n: usize) {
    use base64::Engine as _;
    let t = Instant::now();
    for first in (0..n).step_by(postdesk_xlsx::MAX_ROWS) {
        let rows: Vec<Alias> = (first..(first + postdesk_xlsx::MAX_ROWS).min(n))
            .map(|i| Alias {
                address: format!("alias{i:06}@{D}"),
                targets: vec![format!("user{i:06}@{D}")],
                description: format!("Alias {i} {}", ["Sales", "Support", "Ops", "Board", "Team"][i % 5]),
            })
            .collect();
        let content_base64 =
            base64::engine::general_purpose::STANDARD.encode(postdesk_xlsx::write_aliases(&rows).unwrap());
        let p = ImportAliases { domain: D.into(), file_name: "aliases.xlsx".into(), content_base64 };
        backend.import_aliases(p).await.unwrap();
    }
    let groups = n / 50;
    for g in 0..groups {
        let members = (0..5).map(|k| format!("user{:06}@{D}", g * 5 + k)).collect();
        let p = CreateGroup {
            address: format!("group{g:05}@{D}"),
            name: format!("Group {g} {}", ["North", "South", "East", "West"][g % 4]),
            members: Some(members),
            ..Default::default()
        };
        backend.create_group(p).await.unwrap();
    }
    println!("\n{n} aliases and {groups} groups made in {:.1} s\n", t.elapsed().as_secs_f64());

    let aliases = |query: Option<&str>| ListAliases {
        domain: D.into(),
        query: query.map(String::from),
        limit: Some(50),
        after: None,
    };
    let mut page_10 = aliases(None);
    for _ in 0..9 {
        page_10.after = backend.list_aliases(page_10.clone()).await.unwrap().next;
    }
    let alias_cases = [
        ("aliases, first page", aliases(None)),
        ("aliases, page 10 (cursor)", page_10),
        ("aliases, address substring (\"ias04242\")", aliases(Some("ias04242"))),
        ("aliases, description (\"s 4242 \")", aliases(Some("s 4242 "))),
        ("aliases, target prefix (\"user04242\")", aliases(Some("user04242"))),
        ("aliases, target prefix of every alias (\"user0\")", aliases(Some("user0"))),
        ("aliases, every row matches (\"alias\")", aliases(Some("alias"))),
        ("aliases, two letters, none match (\"zq\")", aliases(Some("zq"))),
        ("aliases, two letters, every target starts so (\"us\")", aliases(Some("us"))),
    ];
    for (name, p) in alias_cases {
        let url = format!("http://{addr}/api/domains/{D}/aliases?{}", serde_urlencoded::to_string(&p).unwrap());
        let (found, http_times, engine_times) =
            timed(http, &url, token, || async { backend.list_aliases(p.clone()).await.unwrap().items.len() }).await;
        println!("{name}: {found}\n    HTTP   {}\n    engine {}", stats(http_times), stats(engine_times));
    }
    let list_groups = |query: Option<&str>| ListGroups {
        domain: D.into(),
        query: query.map(String::from),
        limit: Some(50),
        after: None,
    };
    let group_cases = [
        ("groups, first page", list_groups(None)),
        ("groups, name substring (\"p 1234 \")", list_groups(Some("p 1234 "))),
        ("groups, member prefix (\"user00042\")", list_groups(Some("user00042"))),
        ("groups, two letters, none match (\"zq\")", list_groups(Some("zq"))),
    ];
    for (name, p) in group_cases {
        let url = format!("http://{addr}/api/domains/{D}/groups?{}", serde_urlencoded::to_string(&p).unwrap());
        let (found, http_times, engine_times) =
            timed(http, &url, token, || async { backend.list_groups(p.clone()).await.unwrap().items.len() }).await;
        println!("{name}: {found}\n    HTTP   {}\n    engine {}", stats(http_times), stats(engine_times));
    }
}

/// 20 rounds of `engine()` and of a GET of `url`: what the engine found, and both timings.
async fn timed<F: std::future::Future<Output = usize>>(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    engine: impl Fn() -> F,
) -> (usize, Vec<Duration>, Vec<Duration>) {
    let (mut found, mut api, mut inproc) = (0, Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = Instant::now();
        found = engine().await;
        inproc.push(t.elapsed());
        api.push(over_http(http, url, token).await);
    }
    (found, api, inproc)
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run());
}
