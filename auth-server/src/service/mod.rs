//! The OAuth logic as plain async functions: handlers extract, call one of these, and shape the answer.
//! Each takes what it needs (the shared [`AppState`](crate::state::AppState), the request's values and the
//! time `now`), so tests call them directly, without HTTP and with any clock they like.

pub mod access_jwt;
pub mod accounts;
pub mod admin;
pub mod audiences;
pub mod authorize;
pub mod client_auth;
pub mod code_exchange;
pub mod grants;
pub mod introspection;
pub mod janitor;
pub mod jws;
pub mod keys;
pub mod oidc;
pub mod origins;
pub mod pkce;
pub mod registration;
pub mod revocation;
pub mod revocation_events;
pub mod scopes;
pub mod sign_in;
pub mod tokens;
