//! One module per command noun, each with its clap arguments and its `run`.

pub mod accounts;
pub mod address_book;
pub mod admin;
pub mod alias;
pub mod audit;
pub mod batch;
pub mod blobs;
pub mod dept;
pub mod dns;
pub mod domain;
pub mod domain_group;
pub mod group;
pub mod logins;
pub mod migrate;
pub mod outbound;
pub mod policy;
pub mod relay;
pub mod resolve;
pub mod rules;
pub mod secrets;
pub mod serve;
pub mod settings;
pub mod shared;
pub mod sms;
pub mod smtp;
pub mod trace;
