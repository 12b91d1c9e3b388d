//! Client authentication (RFC 6749 §2.3.1). Secrets are stored as bcrypt hashes; once a client has proved
//! its secret, an HMAC of that secret under a per-process random key is remembered next to the stored hash
//! it was checked against, so later requests are verified in constant time without bcrypt. Rotating the
//! secret changes the stored hash and so invalidates the memory at once, in every process. A wrong secret
//! always pays the full bcrypt check.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shared_core::oauth::{Authorization, Scopes};
use subtle::ConstantTimeEq;

use crate::audit::{self, Event};
use crate::db::clients::ClientRow;
use crate::error::Error;
use crate::password::PasswordHasher;
use crate::service::registration::AccessTokenFormat;

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

impl ClientCredentials {
    /// Client credentials from HTTP Basic (id and secret form-urlencoded, RFC 6749 §2.3.1) or from the
    /// body's `client_id` / `client_secret`. Using both at once is `invalid_request`; none at all, or
    /// undecodable Basic credentials, is `invalid_client`.
    pub fn from_request(
        authorization: Option<Authorization<'_>>,
        body_id: Option<String>,
        body_secret: Option<String>,
    ) -> Result<Self, Error> {
        match authorization {
            Some(Authorization::Basic(encoded)) => {
                let (client_id, secret) = decode_basic(encoded).ok_or(Error::InvalidClient)?;
                if client_id.chars().chain(secret.chars()).any(char::is_control) {
                    return Err(Error::invalid_request("the client credentials hold a control character"));
                }
                if body_secret.is_some() || body_id.as_deref().is_some_and(|id| id != client_id) {
                    return Err(Error::invalid_request("use one client authentication method, not several"));
                }
                Ok(Self { client_id, secret: Some(Secret::new(secret)) })
            }
            _ => match body_id {
                Some(client_id) => Ok(Self { client_id, secret: body_secret.map(Secret::new) }),
                None => Err(Error::InvalidClient),
            },
        }
    }
}

/// `id:secret` in base64, each part form-urlencoded (RFC 6749 §2.3.1); the id must not be empty.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape =
        |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8().ok().map(|c| c.into_owned());
    let id = unescape(id)?;
    (!id.is_empty()).then_some(())?;
    Some((id, unescape(secret)?))
}

/// A client, as a request sees it (authenticated at the token endpoint, identified at `/o/authorize/`).
#[derive(Debug, Clone)]
pub struct Client {
    pub pk: i64,
    pub client_id: String,
    pub name: String,
    pub confidential: bool,
    pub grant_types: Vec<String>,
    pub scopes: Scopes,
    pub redirect_uris: Vec<String>,
    pub skip_consent: bool,
    pub require_pkce: bool,
    pub access_token_format: AccessTokenFormat,
    /// The resources it may ask tokens for; empty: any registered one.
    pub audiences: Vec<String>,
}

impl Client {
    pub fn from_row(row: &ClientRow) -> Self {
        let list = shared_core::config_loader::split_list;
        Self {
            pk: row.id,
            client_id: row.client_id.clone(),
            name: row.name.clone(),
            confidential: row.secret_hash.is_some(),
            grant_types: list(&row.grant_types),
            scopes: Scopes::parse(&row.scopes).unwrap_or_default(),
            redirect_uris: list(&row.redirect_uris),
            skip_consent: row.skip_consent,
            require_pkce: row.require_pkce,
            access_token_format: AccessTokenFormat::parse(&row.access_token_format),
            audiences: list(&row.audiences),
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
    pub fn new(capacity: u64) -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Self { key, verified: moka::sync::Cache::new(capacity) })
    }

    fn mac(&self, secret: &str) -> [u8; 32] {
        // HMAC-SHA256 takes a key of any length, so this never fails.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else { return [0; 32] };
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Checks `credentials` against the client's stored row (`None`: no such client). Every refusal takes
    /// as long as a wrong secret's bcrypt check and counts against the caller's address, so neither the
    /// timing nor the rate tells which client ids exist; only a wrong secret of a real client uses a bcrypt
    /// thread.
    pub async fn authenticate(
        &self,
        hasher: &PasswordHasher,
        credentials: &ClientCredentials,
        row: Option<ClientRow>,
    ) -> Result<Client, Error> {
        let refuse = || async {
            audit::emit(Event::ClientAuthFailed { client_id: &credentials.client_id });
            Err(Error::InvalidClient)
        };
        let Some(row) = row else {
            hasher.verify(secret_text(credentials), None).await?;
            return refuse().await;
        };
        match (&row.secret_hash, &credentials.secret) {
            // A public client identifies itself and proves nothing (RFC 6749 §2.1).
            (None, None) => Ok(Client::from_row(&row)),
            (None, Some(_)) | (Some(_), None) => {
                hasher.verify(secret_text(credentials), None).await?;
                refuse().await
            }
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
                    refuse().await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_url_decoded() {
        let encoded = STANDARD.encode("my%3Aclient:s%C3%A9cret+x");
        assert_eq!(decode_basic(&encoded).unwrap(), ("my:client".to_owned(), "sécret x".to_owned()));
        assert!(decode_basic("not base64!").is_none());
        assert!(decode_basic(&STANDARD.encode("no-colon")).is_none());
        assert!(decode_basic(&STANDARD.encode(":secret")).is_none());
    }

    #[test]
    fn one_authentication_method_at_a_time() {
        let basic = STANDARD.encode("rs-id:rs-secret");
        let both = ClientCredentials::from_request(Some(Authorization::Basic(&basic)), None, Some("x".into()));
        assert!(matches!(both, Err(Error::OAuth { .. })));
        let same_id = ClientCredentials::from_request(Some(Authorization::Basic(&basic)), Some("rs-id".into()), None);
        assert_eq!(same_id.unwrap().client_id, "rs-id");
        let body = ClientCredentials::from_request(None, Some("spa".into()), None).unwrap();
        assert!(body.client_id == "spa" && body.secret.is_none());
        assert!(matches!(ClientCredentials::from_request(None, None, None), Err(Error::InvalidClient)));
        let undecodable = ClientCredentials::from_request(Some(Authorization::Basic("")), None, None);
        assert!(matches!(undecodable, Err(Error::InvalidClient)));
        let nul = STANDARD.encode("rs%00id:secret");
        let nul = ClientCredentials::from_request(Some(Authorization::Basic(&nul)), None, None);
        assert!(matches!(nul, Err(Error::OAuth { .. })), "400, not a lookup");
    }
}
