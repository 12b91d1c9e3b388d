//! Clients, as the operator manages them: created with a generated or given secret (shown once), updated
//! without touching the secret, rotated, deleted, listed, and the configured ones brought back to their
//! definition at every start.

use shared_core::clock;
use shared_core::config_loader::split_list;
use shared_core::db::DbPool;
use shared_core::revocation::RevocationEvent;

use super::{hash, verify, AdminError};
use crate::db::clients::{self, ClientRow, NewClient};
use crate::service::registration::{self, AccessTokenFormat, ClientProfile};
use crate::service::revocation_events;
use crate::service::tokens::random_token;
use crate::settings::BootstrapClient;

/// A client definition, as given to `client create` or in the configuration.
pub struct ClientSpec {
    pub client_id: Option<String>,
    /// `None` with `public == false` means: generate one.
    pub secret: Option<String>,
    pub public: bool,
    pub profile: ClientProfile,
}

/// What `client update` changes; `None` leaves a property as it is.
#[derive(Debug, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub skip_consent: Option<bool>,
    pub require_pkce: Option<bool>,
    pub access_token_format: Option<AccessTokenFormat>,
    pub audiences: Option<Vec<String>>,
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

/// Sorted, without duplicates, space-separated: the same set always stores as the same text.
fn stored_list(items: &[String]) -> String {
    let mut items: Vec<&str> = items.iter().map(String::as_str).collect();
    items.sort_unstable();
    items.dedup();
    items.join(" ")
}

fn check_client_id(id: &str) -> Result<(), AdminError> {
    if id.is_empty() || id.len() > 255 || id.contains(':') || id.chars().any(char::is_control) {
        return Err(registration::Invalid("client ids are 1-255 characters without ':' or controls".into()).into());
    }
    Ok(())
}

/// A random client id or secret (256 bits, URL-safe base64) that never starts with `-`: people paste these
/// into command lines, which would take one for an option (`client rotate-secret -dDB…` is refused).
fn generated_credential() -> Result<String, getrandom::Error> {
    loop {
        let token = random_token()?;
        if !token.starts_with('-') {
            return Ok(token);
        }
    }
}

/// A stored client's properties.
pub fn profile_of(row: &ClientRow) -> ClientProfile {
    ClientProfile {
        name: row.name.clone(),
        grant_types: split_list(&row.grant_types),
        scopes: split_list(&row.scopes),
        redirect_uris: split_list(&row.redirect_uris),
        post_logout_redirect_uris: split_list(&row.post_logout_redirect_uris),
        allowed_origins: split_list(&row.allowed_origins),
        skip_consent: row.skip_consent,
        require_pkce: row.require_pkce,
        access_token_format: AccessTokenFormat::parse(&row.access_token_format),
        audiences: split_list(&row.audiences),
    }
}

/// The row for `profile`, with its lists in their stored form.
#[derive(PartialEq, Eq)]
struct StoredProfile {
    name: String,
    grant_types: String,
    scopes: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    allowed_origins: String,
    skip_consent: bool,
    require_pkce: bool,
    access_token_format: AccessTokenFormat,
    audiences: String,
}

impl StoredProfile {
    fn of(profile: &ClientProfile) -> Self {
        Self {
            name: profile.name.clone(),
            grant_types: stored_list(&profile.grant_types),
            scopes: stored_list(&profile.scopes),
            redirect_uris: stored_list(&profile.redirect_uris),
            post_logout_redirect_uris: stored_list(&profile.post_logout_redirect_uris),
            allowed_origins: stored_list(&profile.allowed_origins),
            skip_consent: profile.skip_consent,
            require_pkce: profile.require_pkce,
            access_token_format: profile.access_token_format,
            audiences: stored_list(&profile.audiences),
        }
    }

    fn row<'a>(
        &'a self,
        client_id: &'a str,
        secret_hash: Option<&'a str>,
        created: i64,
        updated: i64,
    ) -> NewClient<'a> {
        NewClient {
            client_id,
            name: &self.name,
            secret_hash,
            grant_types: &self.grant_types,
            scopes: &self.scopes,
            created_at: created,
            updated_at: updated,
            redirect_uris: &self.redirect_uris,
            post_logout_redirect_uris: &self.post_logout_redirect_uris,
            allowed_origins: &self.allowed_origins,
            skip_consent: self.skip_consent,
            require_pkce: self.require_pkce,
            access_token_format: self.access_token_format.as_str(),
            audiences: &self.audiences,
        }
    }
}

pub async fn create_client(
    pool: &DbPool,
    spec: ClientSpec,
    catalogue: &[String],
    bcrypt_cost: u32,
) -> Result<CreatedClient, AdminError> {
    registration::check(&spec.profile, spec.public, catalogue)?;
    if spec.public && spec.secret.is_some() {
        return Err(registration::Invalid("a public client has no secret".into()).into());
    }
    let client_id = match spec.client_id {
        Some(id) => id,
        None => generated_credential()?,
    };
    check_client_id(&client_id)?;
    let secret = match (spec.public, spec.secret) {
        (true, _) => None,
        (false, Some(secret)) => {
            check_secret(&client_id, &secret)?;
            Some(secret)
        }
        (false, None) => Some(generated_credential()?),
    };
    let secret_hash = match &secret {
        Some(secret) => Some(hash(secret.clone(), bcrypt_cost).await?),
        None => None,
    };
    let stored = StoredProfile::of(&spec.profile);
    let id = client_id.clone();
    let inserted = pool
        .write(move |c| -> Result<bool, AdminError> {
            let at = clock::now();
            Ok(clients::insert(c, &stored.row(&id, secret_hash.as_deref(), at, at))?)
        })
        .await?;
    if !inserted {
        return Err(AdminError::ClientExists(client_id));
    }
    Ok(CreatedClient { client_id, secret })
}

/// The tutorial's secret: fine for a walkthrough, known to everyone.
pub const TUTORIAL_SECRET: &str = "rs-secret";

/// A secret an admin chose: over 72 bytes is refused (bcrypt would ignore the rest, so a longer secret
/// would not be what protects the client); under 16 characters, or the tutorial's, is allowed with a
/// warning (the tutorial's `rs-secret` must keep working).
pub fn check_secret(client_id: &str, secret: &str) -> Result<(), AdminError> {
    if secret.len() > crate::password::validation::MAX_BYTES {
        return Err(registration::Invalid(format!(
            "the secret of client {client_id:?} is {} bytes long; at most {} are allowed (bcrypt reads no more)",
            secret.len(),
            crate::password::validation::MAX_BYTES
        ))
        .into());
    }
    if secret == TUTORIAL_SECRET {
        log::warn!(
            "!!! client {client_id:?} uses the tutorial's well-known secret: anyone can authenticate as it. Fine \
             for a walkthrough on your machine; set another secret anywhere else. !!!"
        );
    } else if secret.chars().count() < 16 {
        log::warn!("client {client_id:?} has a secret shorter than 16 characters: easy to guess; use a longer one");
    }
    Ok(())
}

/// Changes a client's properties, never its secret; the result must be a valid client as a whole.
pub async fn update_client(
    pool: &DbPool,
    client_id: &str,
    changes: ClientChanges,
    catalogue: &[String],
) -> Result<ClientProfile, AdminError> {
    let existing = find_client(pool, client_id).await?.ok_or_else(|| AdminError::NoSuchClient(client_id.to_owned()))?;
    let mut profile = profile_of(&existing);
    let ClientChanges {
        name,
        grant_types,
        scopes,
        redirect_uris,
        post_logout_redirect_uris,
        allowed_origins,
        skip_consent,
        require_pkce,
        access_token_format,
        audiences,
    } = changes;
    profile.name = name.unwrap_or(profile.name);
    profile.grant_types = grant_types.unwrap_or(profile.grant_types);
    profile.scopes = scopes.unwrap_or(profile.scopes);
    profile.redirect_uris = redirect_uris.unwrap_or(profile.redirect_uris);
    profile.post_logout_redirect_uris = post_logout_redirect_uris.unwrap_or(profile.post_logout_redirect_uris);
    profile.allowed_origins = allowed_origins.unwrap_or(profile.allowed_origins);
    profile.skip_consent = skip_consent.unwrap_or(profile.skip_consent);
    profile.require_pkce = require_pkce.unwrap_or(profile.require_pkce);
    profile.access_token_format = access_token_format.unwrap_or(profile.access_token_format);
    profile.audiences = audiences.unwrap_or(profile.audiences);
    registration::check(&profile, existing.secret_hash.is_none(), catalogue)?;
    let stored = StoredProfile::of(&profile);
    pool.write(move |c| -> Result<usize, AdminError> {
        let row = stored.row(&existing.client_id, existing.secret_hash.as_deref(), existing.created_at, clock::now());
        Ok(clients::update(c, &row)?)
    })
    .await?;
    Ok(profile)
}

/// Creates the configured client, or brings an existing one back to the configuration. The stored hash
/// is kept when the configured secret still matches it, so restarts change nothing.
pub async fn bootstrap_client(
    pool: &DbPool,
    config: &BootstrapClient,
    catalogue: &[String],
    bcrypt_cost: u32,
) -> Result<BootstrapOutcome, AdminError> {
    let spec = || ClientSpec {
        client_id: Some(config.client_id.clone()),
        secret: config.client_secret.clone(),
        public: config.client_secret.is_none(),
        profile: config.profile(),
    };
    let existing = match find_client(pool, &config.client_id).await? {
        Some(existing) => existing,
        None => match create_client(pool, spec(), catalogue, bcrypt_cost).await {
            Ok(_) => return Ok(BootstrapOutcome::Created),
            // Another instance starting at the same moment created it first: bring it to this definition.
            Err(AdminError::ClientExists(_)) => find_client(pool, &config.client_id)
                .await?
                .ok_or_else(|| AdminError::NoSuchClient(config.client_id.clone()))?,
            Err(error) => return Err(error),
        },
    };
    let spec = spec();
    registration::check(&spec.profile, spec.public, catalogue)?;
    if let Some(secret) = &spec.secret {
        check_secret(&config.client_id, secret)?;
    }
    let secret_hash = match (spec.secret, existing.secret_hash.clone()) {
        (Some(secret), Some(stored)) if verify(secret.clone(), stored.clone()).await? => Some(stored),
        (Some(secret), _) => Some(hash(secret, bcrypt_cost).await?),
        (None, _) => None,
    };
    // Compared in stored form, so that the order of a list in the settings changes nothing.
    let wanted = StoredProfile::of(&spec.profile);
    if StoredProfile::of(&profile_of(&existing)) == wanted && existing.secret_hash == secret_hash {
        return Ok(BootstrapOutcome::Unchanged);
    }
    pool.write(move |c| -> Result<usize, AdminError> {
        let row = wanted.row(&existing.client_id, secret_hash.as_deref(), existing.created_at, clock::now());
        Ok(clients::update(c, &row)?)
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

/// The client with this id; `NoSuchClient` when there is none.
pub async fn show_client(pool: &DbPool, client_id: &str) -> Result<ClientRow, AdminError> {
    find_client(pool, client_id).await?.ok_or_else(|| AdminError::NoSuchClient(client_id.to_owned()))
}

/// Deletes a client and, with it, every token it holds; resource servers hear of it as a revocation event.
pub async fn delete_client(pool: &DbPool, client_id: &str) -> Result<(), AdminError> {
    let id = client_id.to_owned();
    let now = clock::now();
    let deleted = pool.write(move |c| -> Result<usize, AdminError> {
        let deleted = clients::delete(c, &id)?;
        if deleted > 0 {
            // No token of a deleted client can be issued afterwards: everything up to this second ended.
            let event = RevocationEvent::Client { client_id: id, issued_before: now + 1 };
            revocation_events::record(c, event, now)?;
        }
        Ok(deleted)
    });
    match deleted.await? {
        0 => Err(AdminError::NoSuchClient(client_id.to_owned())),
        _ => Ok(()),
    }
}

/// Replaces a confidential client's secret with a fresh 256-bit one and returns it (shown once).
pub async fn rotate_secret(pool: &DbPool, client_id: &str, bcrypt_cost: u32) -> Result<String, AdminError> {
    let existing = find_client(pool, client_id).await?.ok_or_else(|| AdminError::NoSuchClient(client_id.to_owned()))?;
    if existing.secret_hash.is_none() {
        return Err(registration::Invalid("a public client has no secret to rotate".into()).into());
    }
    let secret = generated_credential()?;
    let secret_hash = hash(secret.clone(), bcrypt_cost).await?;
    let id = client_id.to_owned();
    pool.write(move |c| -> Result<usize, AdminError> {
        Ok(clients::set_secret_hash(c, &id, &secret_hash, clock::now())?)
    })
    .await?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_never_look_like_a_command_line_option() {
        // One random token in 64 starts with '-': 2 000 draws would all but surely show one.
        for _ in 0..2_000 {
            let credential = generated_credential().unwrap();
            assert!(!credential.starts_with('-') && credential.len() == 43, "{credential}");
        }
    }
}
