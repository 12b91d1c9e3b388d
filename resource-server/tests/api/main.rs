//! The resource server's integration tests: a real auth server and a real resource server on 127.0.0.1
//! port 0, each with its own fresh database, real HTTP. Every test runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

mod fault_proxy;
mod helpers;

mod abuse;
mod endpoints;
mod faults;
mod items;
mod jwt;
mod metrics;
mod openapi;
mod outage;
mod paging;
mod proxies;
mod request_ids;
mod revocation_stream;
mod token_cache;
mod walkthrough;
