//! The engine's own caller: the implicit owner when it is driven locally.

use postdesk_contract::model::{Caller, Page, Role};

/// Name of the implicit owner when the engine is driven locally (desktop app, CLI).
pub const LOCAL_OWNER: &str = "local";

pub(crate) fn local_owner() -> Caller {
    Caller { name: LOCAL_OWNER.into(), role: Role::Owner, pages: Page::ALL.to_vec(), domains: None }
}
