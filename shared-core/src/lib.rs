//! The vocabulary both servers speak: OAuth 2.0 wire bodies, account and item bodies, the exact `Price`
//! type, token digests, layered configuration and the database plumbing (one binary, SQLite or PostgreSQL).

#[cfg(feature = "actix")]
pub mod access_log;
pub mod account;
#[cfg(all(feature = "actix", feature = "openapi"))]
pub mod api_doc;
pub mod audit;
#[cfg(feature = "actix")]
pub mod body;
#[cfg(feature = "actix")]
pub mod client_ip;
pub mod clock;
pub mod config_check;
pub mod config_loader;
pub mod db;
pub mod digest;
pub mod field_errors;
pub mod items;
#[cfg(feature = "actix")]
pub mod logging;
#[cfg(feature = "actix")]
pub mod metrics;
pub mod oauth;
pub mod price;
#[cfg(feature = "actix")]
pub mod rate_limit;
pub mod report;
#[cfg(feature = "actix")]
pub mod request;
#[cfg(feature = "actix")]
pub mod request_context;
pub mod revocation;
#[cfg(feature = "testing")]
pub mod testing;

pub use digest::token_digest;
pub use field_errors::FieldErrors;
pub use price::Price;
