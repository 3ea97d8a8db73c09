//! Every integration test of this crate, in one test binary: each file is a module.
//! One binary links the dependency tree once instead of once per file, which keeps the
//! build within a CI machine's disk (a binary per file filled it) and its link time short.

#[path = "../../dns/tests/support/knot.rs"]
mod knot;
#[path = "../../blobs/tests/support/s3.rs"]
mod s3;
#[path = "support/sink.rs"]
mod sink;

mod blob_outage;
mod hardening;
mod live;
mod mta_sts;
mod outbound;
mod readers;
mod rules;
mod seams;
mod server;
mod shared_autoreply;
mod shared_owners;
mod sync_clients;
