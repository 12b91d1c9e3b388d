//! The one owner of the OpenID Connect signing keys: generation (RSA 2048, RS256), storage, rotation, the
//! JWKS. Everything else asks it to sign. jsonwebtoken does the signing (through [`super::jws`], which keeps
//! the key parsed); aws-lc-rs generates the keys.
//!
//! A key signs until it is superseded by a rotation; it stays in the JWKS for as long as anything it signed
//! may still be verified (`published_for`, the longest token lifetime), then it is retired. Several server
//! instances share the keys through the database and reload them every `RELOAD` (a rotation by the CLI in
//! another process is picked up that soon).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::web::Bytes;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use shared_core::db::{BlockingError, DbPool};

use crate::db::keys::{self, KeyRow, NewKey};

pub const ALGORITHM: &str = "RS256";
/// How often running servers reload the keys (a rotation elsewhere is picked up that soon).
pub const RELOAD: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot generate an RSA key")]
    Generate,
    #[error("the signing key file {0:?} cannot be read")]
    Read(String, #[source] std::io::Error),
    #[error("not an RSA private key in PKCS#8 PEM (\"-----BEGIN PRIVATE KEY-----\")")]
    NotPkcs8,
    #[error("the signing key is refused")]
    Rejected(#[source] jsonwebtoken::errors::Error),
    #[error("signing failed")]
    Sign(#[source] jsonwebtoken::errors::Error),
    #[error("the signing task stopped")]
    Task,
    #[error("no signing key is loaded")]
    NoKey,
    #[error("database access failed")]
    Database(#[from] BlockingError),
    #[error("database query failed")]
    Query(#[from] diesel::result::Error),
}

/// A key ready to be stored: its id (the RFC 7638 thumbprint), private PEM and public JWK.
pub struct NewSigningKey {
    pub kid: String,
    pub private_key_pem: String,
    pub public_jwk: serde_json::Value,
}

impl std::fmt::Debug for NewSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// A new RSA 2048 key.
pub fn generate() -> Result<NewSigningKey, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).map_err(|_| KeyError::Generate)?;
    describe(&pair, der.as_ref())
}

/// An operator's key: PKCS#8 PEM (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`).
pub fn import(pem: &str) -> Result<NewSigningKey, KeyError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|line| *line != "-----BEGIN PRIVATE KEY-----")
        .skip(1)
        .take_while(|line| *line != "-----END PRIVATE KEY-----")
        .collect();
    let der = STANDARD.decode(body).map_err(|_| KeyError::NotPkcs8)?;
    let pair = KeyPair::from_pkcs8(&der).map_err(|_| KeyError::NotPkcs8)?;
    describe(&pair, &der)
}

fn describe(pair: &KeyPair, pkcs8_der: &[u8]) -> Result<NewSigningKey, KeyError> {
    let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let (n, e) = (URL_SAFE_NO_PAD.encode(&components.n), URL_SAFE_NO_PAD.encode(&components.e));
    // RFC 7638: the SHA-256 of the required members, in lexicographic order, without whitespace.
    let thumbprint = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint.as_bytes()));
    let public_jwk = json!({"kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": kid, "n": n, "e": e});
    let lines: Vec<String> = STANDARD
        .encode(pkcs8_der)
        .as_bytes()
        .chunks(64)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect();
    let private_key_pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
    // Checked here, so that a stored key always loads.
    EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(KeyError::Rejected)?;
    Ok(NewSigningKey { kid, private_key_pem, public_jwk })
}

struct Signer {
    kid: String,
    key: EncodingKey,
}

struct Loaded {
    signer: Option<Signer>,
    /// The published keys by `kid`, to check what this server signed (an `id_token_hint`).
    verifiers: Vec<(String, DecodingKey)>,
    /// `{"keys": [...]}`, as served.
    jwks: Bytes,
}

/// The keys in use, shared by every request; reloaded every [`RELOAD`].
pub struct SigningKeys {
    loaded: RwLock<Loaded>,
    /// How long a superseded key stays in the JWKS: the longest lifetime of anything it signed.
    published_for: i64,
}

impl SigningKeys {
    pub fn new(published_for: i64) -> Self {
        super::jws::install();
        let loaded = Loaded { signer: None, verifiers: Vec::new(), jwks: Bytes::from_static(br#"{"keys":[]}"#) };
        Self { loaded: RwLock::new(loaded), published_for }
    }

    /// Makes sure a key signs (generating one, or importing `key_file`, when the database has none) and
    /// loads the keys.
    pub async fn start(
        pool: &DbPool,
        key_file: Option<&str>,
        published_for: i64,
        now: i64,
    ) -> Result<Arc<Self>, KeyError> {
        let keys = Arc::new(Self::new(published_for));
        let stored = pool.read(|c| -> Result<Vec<KeyRow>, KeyError> { Ok(keys::list(c)?) }).await?;
        if !stored.iter().any(|key| key.superseded_at.is_none()) {
            let key = match key_file {
                Some(path) => import(&std::fs::read_to_string(path).map_err(|e| KeyError::Read(path.into(), e))?)?,
                None => tokio::task::spawn_blocking(generate).await.map_err(|_| KeyError::Generate)??,
            };
            // Two instances starting at once may both get here; the one that stores second supersedes the
            // first's key, which stays published: both keep verifying.
            add(pool, key, now).await?;
            log::info!("created the OpenID Connect signing key");
        }
        keys.reload(pool, now).await?;
        Ok(keys)
    }

    /// Reads the keys again from the database.
    pub async fn reload(&self, pool: &DbPool, now: i64) -> Result<(), KeyError> {
        let since = now - self.published_for;
        let rows = pool.read(move |c| -> Result<Vec<KeyRow>, KeyError> { Ok(keys::published(c, since)?) }).await?;
        let signer = match rows.iter().find(|row| row.superseded_at.is_none()) {
            Some(row) => Some(Signer {
                kid: row.kid.clone(),
                key: EncodingKey::from_rsa_pem(row.private_key_pem.as_bytes()).map_err(KeyError::Rejected)?,
            }),
            None => None,
        };
        let published: Vec<serde_json::Value> =
            rows.iter().filter_map(|row| serde_json::from_str(&row.public_jwk).ok()).collect();
        let verifiers = published
            .iter()
            .filter_map(|jwk| {
                let (kid, n, e) = (jwk["kid"].as_str()?, jwk["n"].as_str()?, jwk["e"].as_str()?);
                Some((kid.to_owned(), DecodingKey::from_rsa_components(n, e).ok()?))
            })
            .collect();
        let jwks = Bytes::from(json!({ "keys": published }).to_string());
        let mut loaded = self.loaded.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        *loaded = Loaded { signer, verifiers, jwks };
        Ok(())
    }

    /// A compact JWS of `claims`, RS256, with the current key's `kid`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        self.sign_typed(claims, Some("JWT"))
    }

    /// As [`Self::sign`], with the `typ` header given (`at+jwt` for access tokens, RFC 9068 §2.1).
    pub fn sign_typed<T: Serialize>(&self, claims: &T, typ: Option<&str>) -> Result<String, KeyError> {
        let loaded = self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let signer = loaded.signer.as_ref().ok_or(KeyError::NoKey)?;
        let mut header = Header::new(Algorithm::RS256);
        header.typ = typ.map(str::to_owned);
        header.kid = Some(signer.kid.clone());
        jsonwebtoken::encode(&header, claims, &signer.key).map_err(KeyError::Sign)
    }

    /// The `aud` of an id_token this server signed with a published key, expired or not (OpenID Connect
    /// RP-Initiated Logout §2: the hint only names the client and the user). `None` for anything else.
    pub fn id_token_audience(&self, token: &str, issuer: &str) -> Option<String> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let loaded = self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (_, key) = loaded.verifiers.iter().find(|(known, _)| *known == kid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, key, &validation).ok()?.claims;
        claims["aud"].as_str().map(str::to_owned)
    }

    /// The JWKS document (RFC 7517 §5).
    pub fn jwks(&self) -> Bytes {
        self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner).jwks.clone()
    }
}

/// Stores `key` as the one that signs; the others are superseded (and stay published for a while).
pub async fn add(pool: &DbPool, key: NewSigningKey, now: i64) -> Result<String, KeyError> {
    let kid = key.kid.clone();
    pool.write(move |c| -> Result<(), KeyError> {
        let jwk = key.public_jwk.to_string();
        let row = NewKey {
            kid: &key.kid,
            algorithm: ALGORITHM,
            private_key_pem: &key.private_key_pem,
            public_jwk: &jwk,
            created_at: now,
            superseded_at: None,
        };
        keys::insert(c, &row)?;
        keys::supersede_all_but(c, &key.kid, now)?;
        Ok(())
    })
    .await?;
    Ok(kid)
}

/// A key as `auth-server keys list` shows it.
#[derive(Debug)]
pub struct KeyInfo {
    pub kid: String,
    pub algorithm: String,
    pub created_at: i64,
    pub state: KeyState,
}

#[derive(Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Signs new tokens.
    Active,
    /// Superseded; still in the JWKS until `until`.
    Published { until: i64 },
    /// Out of the JWKS: nothing it signed is still valid.
    Retired,
}

pub async fn list(pool: &DbPool, published_for: i64, now: i64) -> Result<Vec<KeyInfo>, KeyError> {
    let rows = pool.read(|c| -> Result<Vec<KeyRow>, KeyError> { Ok(keys::list(c)?) }).await?;
    Ok(rows
        .into_iter()
        .map(|row| KeyInfo {
            state: match row.superseded_at {
                None => KeyState::Active,
                Some(at) if at + published_for > now => KeyState::Published { until: at + published_for },
                Some(_) => KeyState::Retired,
            },
            kid: row.kid,
            algorithm: row.algorithm,
            created_at: row.created_at,
        })
        .collect())
}

/// `auth-server keys rotate`: a new key signs from now on.
pub async fn rotate(pool: &DbPool, now: i64) -> Result<String, KeyError> {
    let key = tokio::task::spawn_blocking(generate).await.map_err(|_| KeyError::Generate)??;
    add(pool, key, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_what_its_jwk_verifies_and_imports_back_to_the_same_kid() {
        let key = generate().unwrap();
        let keys = SigningKeys::new(3600);
        *keys.loaded.write().unwrap() = Loaded {
            signer: Some(Signer {
                kid: key.kid.clone(),
                key: EncodingKey::from_rsa_pem(key.private_key_pem.as_bytes()).unwrap(),
            }),
            verifiers: Vec::new(),
            jwks: Bytes::new(),
        };
        let token = keys.sign(&json!({"sub": "s", "exp": 4_000_000_000i64})).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::RS256, Some(key.kid.as_str())));
        let jwk = &key.public_jwk;
        let decoding =
            jsonwebtoken::DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
                .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).unwrap().claims;
        assert_eq!(claims["sub"], "s");
        assert_eq!(import(&key.private_key_pem).unwrap().kid, key.kid);
        assert!(matches!(import("not a key"), Err(KeyError::NotPkcs8)));
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }
}
