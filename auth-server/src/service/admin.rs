//! Administration shared by the CLI and start-up: creating, listing, rotating and deleting clients,
//! bootstrapping the configured clients idempotently, and creating users. Synchronous: the CLI has no
//! runtime, and start-up calls these from the blocking pool.

use shared_core::db::DbConn;
use shared_core::FieldErrors;

use super::grants::{CLIENT_CREDENTIALS, SUPPORTED_GRANTS};
use super::now;
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
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("bcrypt: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
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

pub fn create_client(
    conn: &mut DbConn,
    spec: ClientSpec,
    catalogue: &[String],
    bcrypt_cost: u32,
) -> Result<CreatedClient, AdminError> {
    check_spec(&spec, catalogue)?;
    let client_id = spec.client_id.clone().unwrap_or_else(random_token);
    let secret = if spec.public { None } else { Some(spec.secret.clone().unwrap_or_else(random_token)) };
    let secret_hash = secret.as_deref().map(|s| bcrypt::hash(s, bcrypt_cost)).transpose()?;
    let at = now();
    let inserted = clients::insert(
        conn,
        &NewClient {
            client_id: &client_id,
            name: &spec.name,
            secret_hash: secret_hash.as_deref(),
            grant_types: &sorted_list(&spec.grant_types),
            scopes: &sorted_list(&spec.scopes),
            created_at: at,
            updated_at: at,
        },
    )?;
    if !inserted {
        return Err(AdminError::ClientExists(client_id));
    }
    Ok(CreatedClient { client_id, secret })
}

/// Creates the configured client, or brings an existing one back to the configuration. The stored hash
/// is kept when the configured secret still matches it, so restarts change nothing.
pub fn bootstrap_client(
    conn: &mut DbConn,
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
    let Some(existing) = clients::find_by_client_id(conn, &config.client_id)? else {
        create_client(conn, spec, catalogue, bcrypt_cost)?;
        return Ok(BootstrapOutcome::Created);
    };
    check_spec(&spec, catalogue)?;
    let grant_types = sorted_list(&spec.grant_types);
    let scopes = sorted_list(&spec.scopes);
    let secret_hash = match (&spec.secret, &existing.secret_hash) {
        (Some(secret), Some(hash)) if bcrypt::verify(secret, hash).unwrap_or(false) => Some(hash.clone()),
        (Some(secret), _) => Some(bcrypt::hash(secret, bcrypt_cost)?),
        (None, _) => None,
    };
    let unchanged = existing.name == spec.name
        && existing.grant_types == grant_types
        && existing.scopes == scopes
        && existing.secret_hash == secret_hash;
    if unchanged {
        return Ok(BootstrapOutcome::Unchanged);
    }
    clients::update(
        conn,
        &NewClient {
            client_id: &existing.client_id,
            name: &spec.name,
            secret_hash: secret_hash.as_deref(),
            grant_types: &grant_types,
            scopes: &scopes,
            created_at: existing.created_at,
            updated_at: now(),
        },
    )?;
    Ok(BootstrapOutcome::Updated)
}

pub fn list_clients(conn: &mut DbConn) -> Result<Vec<ClientRow>, AdminError> {
    Ok(clients::list(conn)?)
}

pub fn delete_client(conn: &mut DbConn, client_id: &str) -> Result<(), AdminError> {
    match clients::delete(conn, client_id)? {
        0 => Err(AdminError::NoSuchClient(client_id.to_owned())),
        _ => Ok(()),
    }
}

/// Replaces a confidential client's secret with a fresh 256-bit one and returns it (shown once).
pub fn rotate_secret(conn: &mut DbConn, client_id: &str, bcrypt_cost: u32) -> Result<String, AdminError> {
    let existing = clients::find_by_client_id(conn, client_id)?.ok_or_else(|| AdminError::NoSuchClient(client_id.to_owned()))?;
    if existing.secret_hash.is_none() {
        return Err(AdminError::Invalid("a public client has no secret to rotate".into()));
    }
    let secret = random_token();
    clients::set_secret_hash(conn, client_id, &bcrypt::hash(&secret, bcrypt_cost)?, now())?;
    Ok(secret)
}

/// Creates a user with the same rules as signup; returns the normalised email.
pub fn create_user(conn: &mut DbConn, raw_email: &str, password: &str, bcrypt_cost: u32) -> Result<String, AdminError> {
    let normalized = email::normalize(raw_email).ok_or_else(|| AdminError::InvalidUser("Enter a valid email address.".into()))?;
    let mut errors = FieldErrors::new();
    validation::validate_new_password(password, password, &normalized, &mut errors);
    if !errors.is_empty() {
        return Err(AdminError::InvalidUser(errors.messages("password").join(" ")));
    }
    let hash = bcrypt::hash(password, bcrypt_cost)?;
    let at = now();
    let subject = uuid::Uuid::new_v4().to_string();
    let created = users::insert(
        conn,
        &users::NewUser {
            subject: &subject,
            email: &normalized,
            email_key: &email::email_key(&normalized),
            password_hash: &hash,
            created_at: at,
            password_changed_at: at,
        },
    )?;
    if !created {
        return Err(AdminError::InvalidUser("user with this email already exists.".into()));
    }
    Ok(normalized)
}
