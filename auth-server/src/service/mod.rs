//! The OAuth logic as plain async functions over [`AppState`](crate::state::AppState): handlers extract,
//! call one of these, and shape the answer.

pub mod accounts;
pub mod admin;
pub mod client_auth;
pub mod grants;
pub mod introspection;
pub mod janitor;
pub mod revocation;
pub mod scopes;
pub mod tokens;

/// Seconds since the Unix epoch: the one clock every token decision reads.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
