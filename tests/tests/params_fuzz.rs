//! A fuzz of every operation's JSON parameters: for each operation of the table, seeded
//! random JSON — objects with the field names operations use, values of every type and of
//! hostile sizes — goes through `dispatch` (serde, validation, access checks, the engine) as
//! the owner. Each call must answer (a result or an error), never panic; afterwards the
//! engine still works. `PARAMS_FUZZ_CASES` sets the cases per operation (default 40).
//! The DNS wizard's operations are left out of that run: they ask the system's resolver.
//!
//! The same generator then goes over the real admin API (`postdesk-server` on loopback, TLS,
//! a bearer token), DNS operations included — the engine asks a knotd on loopback serving
//! the test's domain, so no query leaves the machine: path fields filled from the params,
//! the rest as a query string (GET, DELETE) or a JSON body, some bodies not JSON at all.
//! Every request must get an HTTP answer below 500 (never a dropped connection, never an
//! internal error), and `/api/health` still answers afterwards. `HTTP_FUZZ_CASES` sets the
//! cases per operation (default 8); `FUZZ_SEED` the seed of both. Longer runs: docs/BENCHMARKS.md,
//! "Fuzzing".

use crate::knot;

use postdesk_contract::api::{HttpMethod, Operation, OperationVisitor, dispatch, visit_operations};
use postdesk_tests::{Harness, Kind};
use serde_json::{Map, Value, json};

/// `FUZZ_SEED` picks other inputs (the defaults are the ones CI runs).
fn fuzz_seed(default: u64) -> u64 {
    let seed = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    eprintln!("seed {seed}");
    seed
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const KEYS: &[&str] = &[
    "domain",
    "address",
    "addresses",
    "name",
    "display_name",
    "password",
    "department",
    "departments",
    "path",
    "parent",
    "target",
    "set",
    "clear",
    "limit",
    "before",
    "after",
    "id",
    "file",
    "settings",
    "members",
    "targets",
    "rules",
    "pattern",
    "status",
    "quota_mb",
    "force_password_change",
    "subdepartments",
    "role",
    "pages",
    "domains",
    "token",
    "key",
    "algorithm",
    "selector",
    "host",
    "port",
    "query",
    "filter",
    "page",
    "account",
    "folder",
    "expires_in_days",
    "notes",
    "limits",
    "group",
    "enabled",
    "from",
    "to",
    "recipient",
    "sender",
];

const STRINGS: &[&str] = &[
    "",
    "example.com",
    "ann@example.com",
    "a@b",
    "../../etc/passwd",
    "%00",
    "\u{0}",
    "Ω≈ç√∫",
    "*",
    "{number}",
    "xn--",
    "-1",
    "1e999",
    "<script>",
    "=cmd|' /C calc'!A0",
    "/",
    "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r",
];

fn value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 4 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => [json!(0), json!(-1), json!(1), json!(u32::MAX), json!(u64::MAX), json!(i64::MIN)][rng.below(6)].clone(),
        3 => json!([0.5, -1e308, 1e308][rng.below(3)]),
        4 => Value::String(STRINGS[rng.below(STRINGS.len())].to_string()),
        5 => Value::String("x".repeat([1, 300, 70_000][rng.below(3)])),
        6 => Value::Array((0..rng.below(8)).map(|_| value(rng, depth + 1)).collect()),
        _ => object(rng, depth + 1),
    }
}

fn object(rng: &mut Rng, depth: usize) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(6) {
        map.insert(KEYS[rng.below(KEYS.len())].to_string(), value(rng, depth));
    }
    Value::Object(map)
}

struct Names(Vec<&'static str>);

/// Every operation's name, method and path template.
struct Routes(Vec<(&'static str, HttpMethod, &'static str)>);

impl OperationVisitor for Routes {
    fn visit<O: Operation>(&mut self) {
        self.0.push((O::NAME, O::METHOD, O::PATH));
    }
}

/// A scalar as it travels in a path segment or a query string; lists and objects as JSON.
/// Cut at 2,000 characters: a URL must stay under the 64 KiB an HTTP client will send (the
/// hostile sizes travel in bodies).
fn text(value: &Value) -> String {
    let full = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    full.chars().take(2000).collect()
}

/// `template` with each `{field}` taken from `params` (removed from them) or, when the
/// params lack it, a string of the generator's; percent-encoded.
fn fill_path(template: &str, params: &mut Value, rng: &mut Rng) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').map(|e| start + e).expect("closed {field}");
        out.push_str(&rest[..start]);
        let field = &rest[start + 1..end];
        let taken = params.as_object_mut().and_then(|o| o.remove(field));
        let segment = taken.map(|v| text(&v)).unwrap_or_else(|| STRINGS[rng.below(STRINGS.len())].to_string());
        // An empty segment would be another route; the server sees at least one byte.
        let segment = if segment.is_empty() { "x".to_string() } else { segment };
        out.push_str(&encode(&segment));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Percent-encodes every byte but unreserved ones (RFC 3986 §2.3).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn query(params: &Value) -> String {
    let Some(object) = params.as_object() else { return String::new() };
    object.iter().map(|(k, v)| format!("{}={}", encode(k), encode(&text(v)))).collect::<Vec<_>>().join("&")
}

impl OperationVisitor for Names {
    fn visit<O: Operation>(&mut self) {
        self.0.push(O::NAME);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_params_never_panic_any_operation() {
    let cases: usize = std::env::var("PARAMS_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let h = Harness::new(Kind::Local).await;
    h.domain("example.com", 100).await;
    let mut names = Names(Vec::new());
    visit_operations(&mut names);
    let mut rng = Rng(fuzz_seed(0x00f0_22ed_c0de));
    let (mut calls, mut ok) = (0, 0);
    for name in names.0.iter().filter(|n| !n.contains("dns")) {
        for _ in 0..cases {
            let params = if rng.below(4) == 0 { value(&mut rng, 0) } else { object(&mut rng, 0) };
            calls += 1;
            ok += usize::from(dispatch(h.owner.as_ref(), name, params).await.is_ok());
        }
    }
    println!("{calls} calls over {} operations, {ok} accepted", names.0.len());
    // Still working: the domain made before is listed.
    let listed = dispatch(h.owner.as_ref(), "list_domains", json!({})).await.expect("list_domains");
    assert!(listed.to_string().contains("example.com"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_params_over_http_always_get_an_answer() {
    let cases: usize = std::env::var("HTTP_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let seed = Harness::new(Kind::Remote).await;
    seed.domain("example.com", 100).await;
    // The DNS wizard asks a knotd on loopback that serves the test's domain.
    let zones = tempfile::tempdir().unwrap();
    let zone = zones.path().join("example.com.zone");
    std::fs::write(
        &zone,
        "$ORIGIN example.com.\n$TTL 60\n@ SOA ns.example.com. admin.example.com. 1 60 60 600 60\n\
         @ NS ns.example.com.\nns A 127.0.0.1\n@ MX 10 mx.example.com.\nmx A 192.0.2.10\n",
    )
    .unwrap();
    let dns = knot::Knot::start(&[("example.com.", zone.as_path())]);
    let h = seed.reopen(Kind::Remote, Some(dns.addr)).await;
    let token = h
        .owner
        .create_token(postdesk_contract::api::CreateToken { admin: "owner".into(), ..Default::default() })
        .await
        .unwrap()
        .secret;
    let base = h.url().unwrap().to_string();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(h.cert_pem().unwrap().as_bytes()).unwrap())
        .timeout(std::time::Duration::from_secs(60))
        // A fresh connection per request. Found by this fuzz and reported: after answering 413
        // to an over-limit body the server closes the connection without saying
        // `Connection: close`, so a client that reuses it has its next request cut off.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut routes = Routes(Vec::new());
    visit_operations(&mut routes);
    let mut rng = Rng(fuzz_seed(0x0bad_5eed_4077));
    let (mut requests, mut answered_2xx, mut closed_while_sending) = (0usize, 0usize, 0usize);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for &(name, method, template) in &routes.0 {
        for case in 0..cases {
            let mut params = if rng.below(4) == 0 { value(&mut rng, 0) } else { object(&mut rng, 0) };
            let path = fill_path(template, &mut params, &mut rng);
            let verb = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
            let mut request = http.request(verb, format!("{base}{path}")).bearer_auth(&token);
            let mut body_len = 0;
            let sent = if method.params_in_query() {
                // Now and then a query string that is not one.
                let q = if case % 5 == 4 { "%%=&&=%ZZ&a[]=1".to_string() } else { query(&params) };
                format!("?{q}")
            } else {
                // Now and then a body that is not JSON, or not an object.
                let body = match case % 5 {
                    3 => b"{\"unterminated\": [1, 2".to_vec(),
                    4 => vec![0xff, 0xfe, 0x00, b'{'],
                    _ => serde_json::to_vec(&params).unwrap(),
                };
                body_len = body.len();
                let shown = format!("({} bytes) {}", body.len(), String::from_utf8_lossy(&body[..body.len().min(200)]));
                request = request.header("content-type", "application/json").body(body);
                shown
            };
            requests += 1;
            let response = match request.send().await {
                Ok(response) => response,
                // Known and reported: a body over the route's limit (64 KiB for most) is
                // answered 413 before it is read, and the connection closes while the client
                // is still sending, so the client may never see the 413. Counted, not hidden.
                Err(e)
                    if body_len > 64 * 1024
                        && ["IncompleteMessage", "BodyWrite", "BrokenPipe", "ConnectionReset"]
                            .iter()
                            .any(|cut| format!("{e:?}").contains(cut)) =>
                {
                    closed_while_sending += 1;
                    continue;
                }
                Err(e) => panic!("{name} {path} {sent}: no HTTP answer: {e:?}"),
            };
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_else(|e| panic!("{name}: the answer broke off: {e:?}"));
            assert!(status < 500, "{name} {path} {sent}: HTTP {status}: {body}");
            answered_2xx += usize::from(status < 300);
            *statuses.entry(status).or_default() += 1;
        }
    }
    println!(
        "{requests} requests over {} operations: {answered_2xx} accepted, by status {statuses:?}, \
         {closed_while_sending} over-limit bodies cut off before the 413 was read",
        routes.0.len()
    );
    let health = http.get(format!("{base}/api/health")).send().await.expect("health answers");
    assert_eq!(health.status().as_u16(), 200);
    // The API still changes and reads data (the fuzz itself may have removed the domain: the
    // owner may).
    let made = http
        .post(format!("{base}/api/domains"))
        .bearer_auth(&token)
        .json(&json!({"domain": "after-fuzz.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 200, "{}", made.text().await.unwrap());
    let listed =
        http.get(format!("{base}/api/domains")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    assert!(listed.contains("after-fuzz.example"), "{listed}");
    drop(dns);
}
