//! Every integration test of this crate, in one test binary: each file is a module.
//! One binary links the dependency tree once instead of once per file, which keeps the
//! build within a CI machine's disk (a binary per file filled it) and its link time short.

#[path = "../../dns/tests/support/knot.rs"]
mod knot;
mod support;

mod clients;
mod crash;
mod data_memory;
mod fuzz;
mod inbound;
mod live;
mod protocol;
