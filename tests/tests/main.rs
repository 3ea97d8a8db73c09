//! Every integration test of this crate, in one test binary: each file is a module.
//! One binary links the dependency tree once instead of once per file, which keeps the
//! build within a CI machine's disk (a binary per file filled it) and its link time short.

#[path = "../../src-tauri/dns/tests/support/knot.rs"]
mod knot;
#[path = "../../src-tauri/blobs/tests/support/s3.rs"]
mod s3;

mod account_search;
mod alias_files;
mod alias_group_search;
mod blob_store;
mod bulk;
mod contract;
mod dns_wizard;
mod listings;
mod logins;
mod mailbox;
mod nodes;
mod outbound_admin;
mod params_fuzz;
mod phone;
mod portal;
mod postgres_schema;
mod relay_admin;
mod rule_files;
mod settings;
mod shared_graph;
mod shared_mailboxes;
mod signin;
mod smtp_admin;
