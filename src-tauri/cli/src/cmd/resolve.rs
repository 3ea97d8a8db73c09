//! `postdesk resolve ADDRESS` (and `postdesk alias resolve`).

use postdesk_contract::api::*;
use postdesk_contract::{Backend, Result};

use crate::output::print_one;

/// `postdesk resolve ADDRESS`: which mailboxes receive mail to it, and why.
pub async fn run(b: &dyn Backend, address: &str, json: bool) -> Result<()> {
    print_one(json, &b.resolve_address(ResolveAddress { address: address.to_string() }).await?)
}
