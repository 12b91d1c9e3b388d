//! Administration shared by the CLI and start-up: creating, listing, rotating and deleting clients,
//! bootstrapping the configured clients idempotently, and creating users. Every database step goes through
//! the pool's `read` / `write` like any request's; bcrypt runs on a blocking thread before the write, never
//! while a connection is held.

use shared_core::clock;
use shared_core::db::{BlockingError, DbPool};
use shared_core::FieldErrors;

use super::grants::{CLIENT_CREDENTIALS, SUPPORTED_GRANTS};
use super::tokens::random_token;
use crate::db::clients::{self, ClientRow, NewClient};
use crate::db::users;
use crate::password::{email, validation};
use crate::settings::BootstrapClient;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("a client with id {0:?} already exists")]
    ClientExists(String),
    #[error("no client with id {0:?}")]
    NoSuchClient(String),
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

/// A client definition, as given to `client create` or in the configuration.
pub struct ClientSpec {
    pub client_id: Option<String>,
    pub name: String,
    /// `None` with `public == false` means: generate one.
    pub secret: Option<String>,
    pub public: bool,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
}

/// The result of `client create`: the secret is shown once and never stored in clear.
pub struct CreatedClient {
    pub client_id: String,
    pub secret: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BootstrapOutcome {
    Created,
    Updated,
    Unchanged,
}

fn check_spec(spec: &ClientSpec, catalogue: &[String]) -> Result<(), AdminError> {
    if spec.grant_types.is_empty() {
        return Err(AdminError::Invalid("a client needs at least one grant type".into()));
    }
    for grant in &spec.grant_types {
        if !SUPPORTED_GRANTS.contains(&grant.as_str()) {
            return Err(AdminError::Invalid(format!(
                "unknown grant type {grant:?}; supported: {}",
                SUPPORTED_GRANTS.join(", ")
            )));
        }
    }
    for scope in &spec.scopes {
        if !catalogue.contains(scope) {
            return Err(AdminError::Invalid(format!("unknown scope {scope:?}; available: {}", catalogue.join(", "))));
        }
    }
    if spec.public && spec.grant_types.iter().any(|g| g == CLIENT_CREDENTIALS) {
        return Err(AdminError::Invalid("a public client cannot use client_credentials".into()));
    }
    if spec.public && spec.secret.is_some() {
        return Err(AdminError::Invalid("a public client has no secret".into()));
    }
    if let Some(id) = &spec.client_id {
        if id.is_empty() || id.len() > 255 || id.contains(':') || id.chars().any(char::is_control) {
            return Err(AdminError::Invalid("client ids are 1-255 characters without ':' or controls".into()));
        }
    }
    Ok(())
}

fn sorted_list(items: &[String]) -> String {
    let mut items: Vec<&str> = items.iter().map(String::as_str).collect();
    items.sort_unstable();
    items.dedup();
    items.join(" ")
}

/// bcrypt on a blocking thread (start-up and the CLI have no hasher pool).
async fn hash(secret: String, cost: u32) -> Result<String, AdminError> {
    Ok(tokio::task::spawn_blocking(move || bcrypt::hash(secret, cost)).await??)
}

async fn verify(secret: String, hash: String) -> Result<bool, AdminError> {
    Ok(tokio::task::spawn_blocking(move || bcrypt::verify(secret, &hash).unwrap_or(false)).await?)
}

pub async fn create_client(
    pool: &DbPool,
    spec: ClientSpec,
    catalogue: &[String],
    bcrypt_cost: u32,
) -> Result<CreatedClient, AdminError> {
    check_spec(&spec, catalogue)?;
    let client_id = match spec.client_id {
        Some(id) => id,
        None => random_token()?,
    };
    let secret = match (spec.public, spec.secret) {
        (true, _) => None,
        (false, Some(secret)) => Some(secret),
        (false, None) => Some(random_token()?),
    };
    let secret_hash = match &secret {
        Some(secret) => Some(hash(secret.clone(), bcrypt_cost).await?),
        None => None,
    };
    let (grant_types, scopes) = (sorted_list(&spec.grant_types), sorted_list(&spec.scopes));
    let (id, name) = (client_id.clone(), spec.name);
    let inserted = pool
        .write(move |c| -> Result<bool, AdminError> {
            let at = clock::now();
            let client = NewClient {
                client_id: &id,
                name: &name,
                secret_hash: secret_hash.as_deref(),
                grant_types: &grant_types,
                scopes: &scopes,
                created_at: at,
                updated_at: at,
            };
            Ok(clients::insert(c, &client)?)
        })
        .await?;
    if !inserted {
        return Err(AdminError::ClientExists(client_id));
    }
    Ok(CreatedClient { client_id, secret })
}

/// Creates the configured client, or brings an existing one back to the configuration. The stored hash
/// is kept when the configured secret still matches it, so restarts change nothing.
pub async fn bootstrap_client(
    pool: &DbPool,
    config: &BootstrapClient,
    catalogue: &[String],
    bcrypt_cost: u32,
) -> Result<BootstrapOutcome, AdminError> {
    let spec = ClientSpec {
        client_id: Some(config.client_id.clone()),
        name: config.name.clone().unwrap_or_else(|| config.client_id.clone()),
        secret: config.client_secret.clone(),
        public: config.client_secret.is_none(),
        grant_types: config.grant_types.clone(),
        scopes: config.scopes.clone(),
    };
    let Some(existing) = find_client(pool, &config.client_id).await? else {
        create_client(pool, spec, catalogue, bcrypt_cost).await?;
        return Ok(BootstrapOutcome::Created);
    };
    check_spec(&spec, catalogue)?;
    let grant_types = sorted_list(&spec.grant_types);
    let scopes = sorted_list(&spec.scopes);
    let secret_hash = match (spec.secret, existing.secret_hash.clone()) {
        (Some(secret), Some(stored)) if verify(secret.clone(), stored.clone()).await? => Some(stored),
        (Some(secret), _) => Some(hash(secret, bcrypt_cost).await?),
        (None, _) => None,
    };
    let unchanged = existing.name == spec.name
        && existing.grant_types == grant_types
        && existing.scopes == scopes
        && existing.secret_hash == secret_hash;
    if unchanged {
        return Ok(BootstrapOutcome::Unchanged);
    }
    let name = spec.name;
    pool.write(move |c| -> Result<usize, AdminError> {
        let client = NewClient {
            client_id: &existing.client_id,
            name: &name,
            secret_hash: secret_hash.as_deref(),
            grant_types: &grant_types,
            scopes: &scopes,
            created_at: existing.created_at,
            updated_at: clock::now(),
        };
        Ok(clients::update(c, &client)?)
    })
    .await?;
    Ok(BootstrapOutcome::Updated)
}

async fn find_client(pool: &DbPool, client_id: &str) -> Result<Option<ClientRow>, AdminError> {
    let client_id = client_id.to_owned();
    pool.read(move |c| Ok(clients::find_by_client_id(c, &client_id)?)).await
}

pub async fn list_clients(pool: &DbPool) -> Result<Vec<ClientRow>, AdminError> {
    pool.read(|c| Ok(clients::list(c)?)).await
}

pub async fn delete_client(pool: &DbPool, client_id: &str) -> Result<(), AdminError> {
    let id = client_id.to_owned();
    match pool.write(move |c| -> Result<usize, AdminError> { Ok(clients::delete(c, &id)?) }).await? {
        0 => Err(AdminError::NoSuchClient(client_id.to_owned())),
        _ => Ok(()),
    }
}

/// Replaces a confidential client's secret with a fresh 256-bit one and returns it (shown once).
pub async fn rotate_secret(pool: &DbPool, client_id: &str, bcrypt_cost: u32) -> Result<String, AdminError> {
    let existing = find_client(pool, client_id).await?.ok_or_else(|| AdminError::NoSuchClient(client_id.to_owned()))?;
    if existing.secret_hash.is_none() {
        return Err(AdminError::Invalid("a public client has no secret to rotate".into()));
    }
    let secret = random_token()?;
    let secret_hash = hash(secret.clone(), bcrypt_cost).await?;
    let id = client_id.to_owned();
    pool.write(move |c| -> Result<usize, AdminError> {
        Ok(clients::set_secret_hash(c, &id, &secret_hash, clock::now())?)
    })
    .await?;
    Ok(secret)
}

/// Creates a user with the same rules as signup; returns the normalised email.
pub async fn create_user(
    pool: &DbPool,
    raw_email: &str,
    password: &str,
    bcrypt_cost: u32,
) -> Result<String, AdminError> {
    let normalized =
        email::normalize(raw_email).ok_or_else(|| AdminError::InvalidUser("Enter a valid email address.".into()))?;
    let mut errors = FieldErrors::new();
    validation::validate_new_password(password, password, &normalized, &mut errors);
    if !errors.is_empty() {
        return Err(AdminError::InvalidUser(errors.messages("password").join(" ")));
    }
    let password_hash = hash(password.to_owned(), bcrypt_cost).await?;
    let subject = uuid::Uuid::new_v4().to_string();
    let stored = normalized.clone();
    let created = pool
        .write(move |c| -> Result<bool, AdminError> {
            let at = clock::now();
            let user = users::NewUser {
                subject: &subject,
                email: &stored,
                email_key: &email::email_key(&stored),
                password_hash: &password_hash,
                created_at: at,
                password_changed_at: at,
            };
            Ok(users::insert(c, &user)?)
        })
        .await?;
    if !created {
        return Err(AdminError::InvalidUser("user with this email already exists.".into()));
    }
    Ok(normalized)
}
