// `sqlx::migrate!` embeds the migrations at compile time: rebuild when one is added or
// changed (cargo does not watch the folder by itself).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
