//! Administration shared by the CLI and start-up: clients (create, update, list, rotate, delete, bootstrap
//! from the settings), users, single tokens and signing keys. Every database step goes through the pool's `read` / `write`
//! like any request's; bcrypt runs on a blocking thread before the write, never while a connection is held.

mod clients;
mod resources;
mod tokens;
mod users;

pub use self::clients::{
    bootstrap_client, check_secret, create_client, delete_client, list_clients, profile_of, rotate_secret, show_client,
    update_client, BootstrapOutcome, ClientChanges, ClientSpec, CreatedClient,
};
pub use self::resources::{bootstrap_resource, create_resource, delete_resource, list_resources};
pub use self::tokens::{revoke_token, RevokedToken};
pub use self::users::{
    create_user, delete_user, disable_user, enable_user, list_users, revoke_user_tokens, set_password, show_user,
    unlock_user, UserDetails, UserState, UserSummary,
};

use shared_core::db::BlockingError;

use super::registration::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("a client with id {0:?} already exists")]
    ClientExists(String),
    #[error("no client with id {0:?}")]
    NoSuchClient(String),
    #[error("a resource with identifier {0:?} already exists")]
    ResourceExists(String),
    #[error("no resource with identifier {0:?}")]
    NoSuchResource(String),
    #[error("no such token: this server did not issue it, or it expired and was swept")]
    NoSuchToken,
    #[error("invalid user: {0}")]
    InvalidUser(String),
    #[error("database access failed")]
    Database(#[from] BlockingError),
    #[error("database query failed")]
    Query(#[from] diesel::result::Error),
    #[error("bcrypt failed")]
    Bcrypt(#[from] bcrypt::BcryptError),
    #[error("the operating system's random number generator failed")]
    Random(#[from] getrandom::Error),
    #[error("the hashing thread panicked")]
    HashingPanicked(#[from] tokio::task::JoinError),
}

/// bcrypt on a blocking thread (start-up and the CLI have no hasher pool).
async fn hash(secret: String, cost: u32) -> Result<String, AdminError> {
    Ok(tokio::task::spawn_blocking(move || bcrypt::hash(secret, cost)).await??)
}

async fn verify(secret: String, hash: String) -> Result<bool, AdminError> {
    Ok(tokio::task::spawn_blocking(move || bcrypt::verify(secret, &hash).unwrap_or(false)).await?)
}
