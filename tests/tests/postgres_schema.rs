//! The PostgreSQL migrations build the schema the SQLite migrations build: the same tables,
//! columns in the same order, types, defaults, keys, indexes and triggers
//! (`scripts/pg-schema-parity.py`, run against a freshly migrated PostgreSQL database).

use std::process::Command;

#[tokio::test]
async fn postgres_schema_matches_the_sqlite_schema() {
    let database = postdesk_tests::postgres::fresh_database().await;
    let url = database.url();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-schema-parity.py");
    let out = Command::new("python3").arg(script).arg(url).output().expect("python3 runs");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schema differences:\n{report}");
    assert!(report.contains("OK: no difference"), "{report}");
}
