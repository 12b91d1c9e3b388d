//! Resource server: validates bearer tokens by RFC 7662 introspection behind a bounded cache, proxies the
//! account calls to the auth server (the client secret stays here), and serves the items API.

pub mod auth;
pub mod auth_client;
pub mod db;
pub mod discovery;
pub mod error;
pub mod introspection;
pub mod jwt;
pub mod metrics;
pub mod revocations;
pub mod routes;
pub mod service;
pub mod settings;
pub mod startup;
pub mod state;

pub use settings::Settings;
pub use startup::Application;
#[cfg(feature = "testing")]
pub mod testing;
