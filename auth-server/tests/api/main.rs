//! The auth server's integration tests: a real server on 127.0.0.1 port 0, a fresh database per test,
//! real HTTP. Every test runs on SQLite and on PostgreSQL (`TEST_POSTGRES_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

mod browser;
mod helpers;

mod admin_cli;
mod admin_cli_json;
mod admin_cli_users;
mod audiences;
mod audit;
mod authorize_errors;
mod bootstrap;
mod code_exchange;
mod config_check;
mod cors;
mod faults;
mod health;
mod instances;
mod introspection;
mod janitor;
mod jwt_access_tokens;
mod lockout;
mod metrics;
mod oidc_flow;
mod openapi;
mod password_change;
mod rate_limits;
mod refresh;
mod request_ids;
mod revocation;
mod revocation_events;
mod rotation_races;
mod services;
mod sign_in_pages;
mod signup;
mod token;
