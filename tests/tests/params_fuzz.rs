//! A fuzz of every operation's JSON parameters: for each operation of the table, seeded
//! random JSON — objects with the field names operations use, values of every type and of
//! hostile sizes — goes through `dispatch` (serde, validation, access checks, the engine) as
//! the owner. Each call must answer (a result or an error), never panic; afterwards the
//! engine still works. `PARAMS_FUZZ_CASES` sets the cases per operation (default 40).
//! The DNS wizard's operations are left out: they ask the system's resolver.

use postdesk_contract::api::{Operation, OperationVisitor, dispatch, visit_operations};
use postdesk_tests::{Harness, Kind};
use serde_json::{Map, Value, json};

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
    let mut rng = Rng(0x00f0_22ed_c0de);
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
