//! Every integration test of this crate, in one test binary: each file is a module.
//! One binary links the dependency tree once instead of once per file, which keeps the
//! build within a CI machine's disk (a binary per file filled it) and its link time short.

mod autoconfig;
mod hardening;
