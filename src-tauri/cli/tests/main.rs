//! Every integration test of this crate, in one test binary: each file is a module.
//! One binary links the dependency tree once instead of once per file, which keeps the
//! build within a CI machine's disk (a binary per file filled it) and its link time short.

mod common;
#[path = "../../dns/tests/support/knot.rs"]
mod knot;
#[path = "../../blobs/tests/support/s3.rs"]
mod s3;

mod blobs;
mod bulk;
mod cli;
mod files;
mod forwarding;
mod migrate;
mod nodes;
mod outbound;
mod relay;
mod sms;
mod smtp;
mod trace;
