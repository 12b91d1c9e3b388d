//! Client authentication (RFC 6749 §2.3.1). Secrets are stored as bcrypt hashes; once a client has proved
//! its secret, an HMAC of that secret under a per-process random key is remembered next to the stored hash
//! it was checked against, so later requests are verified in constant time without bcrypt. Rotating the
//! secret changes the stored hash and so invalidates the memory at once, in every process. A wrong secret
//! always pays the full bcrypt check.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use shared_core::oauth::Scopes;
use subtle::ConstantTimeEq;

use crate::db::clients::ClientRow;
use crate::error::Error;
use crate::password::PasswordHasher;

/// A client secret: never printed, compared only in constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The credentials a request presented, and how.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<Secret>,
}

/// An authenticated client.
#[derive(Debug, Clone)]
pub struct Client {
    pub pk: i64,
    pub client_id: String,
    pub confidential: bool,
    pub grant_types: Vec<String>,
    pub scopes: Scopes,
}

impl Client {
    fn from_row(row: &ClientRow) -> Self {
        Self {
            pk: row.id,
            client_id: row.client_id.clone(),
            confidential: row.secret_hash.is_some(),
            grant_types: shared_core::config_loader::split_list(&row.grant_types),
            scopes: Scopes::parse(&row.scopes).unwrap_or_default(),
        }
    }

    pub fn may_use_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

struct Verified {
    secret_hash: String,
    mac: [u8; 32],
}

pub struct ClientAuthenticator {
    key: [u8; 32],
    verified: moka::sync::Cache<String, Arc<Verified>>,
}

impl ClientAuthenticator {
    pub fn new(capacity: u64) -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random number generator is unavailable");
        Self { key, verified: moka::sync::Cache::new(capacity) }
    }

    fn mac(&self, secret: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Checks `credentials` against the client's stored row (`None`: no such client).
    pub async fn authenticate(
        &self,
        hasher: &PasswordHasher,
        credentials: &ClientCredentials,
        row: Option<ClientRow>,
    ) -> Result<Client, Error> {
        let rejected = Error::InvalidClient;
        let Some(row) = row else {
            // Same cost as a known client, so client ids cannot be probed by timing.
            let _ = hasher.verify(secret_text(credentials), None).await?;
            return Err(rejected);
        };
        match (&row.secret_hash, &credentials.secret) {
            // A public client identifies itself and proves nothing (RFC 6749 §2.1).
            (None, None) => Ok(Client::from_row(&row)),
            (None, Some(_)) | (Some(_), None) => Err(rejected),
            (Some(hash), Some(secret)) => {
                let mac = self.mac(secret.expose());
                if let Some(known) = self.verified.get(&row.client_id) {
                    if known.secret_hash == *hash && bool::from(known.mac.ct_eq(&mac)) {
                        return Ok(Client::from_row(&row));
                    }
                }
                if hasher.verify(secret.expose().to_owned(), Some(hash.clone())).await? {
                    self.verified.insert(row.client_id.clone(), Arc::new(Verified { secret_hash: hash.clone(), mac }));
                    Ok(Client::from_row(&row))
                } else {
                    Err(rejected)
                }
            }
        }
    }

    /// Forgets a client's verified secret (after a rotation or deletion in this process).
    pub fn forget(&self, client_id: &str) {
        self.verified.invalidate(client_id);
    }
}

fn secret_text(credentials: &ClientCredentials) -> String {
    credentials.secret.as_ref().map(|s| s.expose().to_owned()).unwrap_or_default()
}
