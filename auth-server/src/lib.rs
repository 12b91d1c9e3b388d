//! OAuth 2.0 authorization server: users, clients, the token endpoint (password, refresh_token,
//! client_credentials), RFC 7662 introspection, RFC 7009 revocation and RFC 8414 metadata.

pub mod audit;
pub mod cli;
pub mod db;
pub mod error;
pub mod metrics;
pub mod password;
pub mod routes;
pub mod service;
pub mod settings;
pub mod startup;
pub mod state;

pub use settings::Settings;
pub use startup::Application;
#[cfg(feature = "testing")]
pub mod testing;
