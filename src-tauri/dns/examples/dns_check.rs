//! Stand-alone `dns check` (what `postdesk dns check` mounts), for the comparison script and
//! for trying the checks before the `postdesk` binary exists:
//! `cargo run -p postdesk-dns --example dns_check -- --resolver 127.0.0.1:5353 example.test`
use clap::Parser;

/// Checks a domain's mail DNS.
#[derive(Parser)]
#[command(name = "dns_check")]
struct Cli {
    #[command(flatten)]
    args: postdesk_dns::cli::DnsCheckArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    postdesk_dns::cli::run(Cli::parse().args).await
}
