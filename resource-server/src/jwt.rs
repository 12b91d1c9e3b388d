//! Local validation of JWT access tokens (RFC 9068 §4): the signature against the auth server's JWKS,
//! `typ`, `iss`, `aud`, `exp` / `nbf`. jsonwebtoken does the cryptography; this module picks the key and
//! the rules. The JWKS is fetched on first use and again when a token names a `kid` it does not hold (a
//! key rotation), at most once per `jwks_refetch_secs`, so a forged `kid` cannot make it hammer the auth
//! server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;

use crate::auth_client::AuthClient;
use crate::error::UpstreamError;

/// Clock difference tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 10;

/// Signature algorithms accepted: asymmetric only (an HMAC "signed" with the public key proves nothing).
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The header of an RFC 9068 access token (`typ: at+jwt`), decoded once for [`JwtValidator::validate`];
/// `None` for anything else (other JWTs included), which goes to introspection.
pub fn access_jwt_header(token: &str) -> Option<Header> {
    if token.bytes().filter(|b| *b == b'.').count() != 2 {
        return None;
    }
    let header = jsonwebtoken::decode_header(token).ok()?;
    let typ = header.typ.as_deref()?.to_ascii_lowercase();
    (typ == "at+jwt" || typ == "application/at+jwt").then_some(header)
}

/// The claims the resource server uses.
#[derive(Debug, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub client_id: String,
    #[serde(default)]
    pub scope: String,
    pub exp: u64,
    /// When it was issued: user-wide and client-wide revocations end the tokens issued before a time.
    #[serde(default)]
    pub iat: Option<i64>,
}

impl AccessClaims {
    /// RFC 9068 §2.2: a token without a user names its client as `sub`.
    pub fn user(&self) -> Option<&str> {
        (self.sub != self.client_id).then_some(self.sub.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// Not a valid token for this resource server: 401.
    #[error("the JWT is invalid: {0}")]
    Invalid(String),
    /// The JWKS could not be fetched for a key not seen before: 503.
    #[error("the JWKS could not be fetched")]
    Keys(#[from] UpstreamError),
}

fn invalid(reason: impl std::fmt::Display) -> JwtError {
    JwtError::Invalid(reason.to_string())
}

struct Key {
    decoding: DecodingKey,
    /// The JWK's own `alg`, when it names one: the token's must match it.
    algorithm: Option<Algorithm>,
}

pub struct JwtValidator {
    auth: Arc<AuthClient>,
    issuer: String,
    audience: Option<String>,
    keys: RwLock<Arc<HashMap<String, Key>>>,
    last_fetch: Mutex<Option<Instant>>,
    /// One fetch at a time; the others wait for its keys.
    fetching: tokio::sync::Mutex<()>,
    refetch_after: Duration,
}

impl JwtValidator {
    pub fn new(auth: Arc<AuthClient>, audience: Option<String>, refetch_after: Duration) -> Self {
        let issuer = auth.endpoints().issuer.clone();
        Self {
            auth,
            issuer,
            audience,
            keys: RwLock::new(Arc::default()),
            last_fetch: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            refetch_after,
        }
    }

    fn keys(&self) -> Arc<HashMap<String, Key>> {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The claims of `token` (whose `header` is [`access_jwt_header`]'s) if its signature, issuer, audience
    /// and lifetime hold.
    pub async fn validate(&self, token: &str, header: Header) -> Result<AccessClaims, JwtError> {
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid(format!("{:?} is not accepted", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
        let mut keys = self.keys();
        if !keys.contains_key(&kid) {
            keys = self.refetch(&kid).await?;
        }
        let key = keys.get(&kid).ok_or_else(|| invalid("unknown kid"))?;
        if key.algorithm.is_some_and(|alg| alg != header.alg) {
            return Err(invalid("the token's alg is not its key's"));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        match &self.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        Ok(jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation).map_err(invalid)?.claims)
    }

    /// The keys after fetching the JWKS again, unless it was fetched less than `refetch_after` ago.
    async fn refetch(&self, kid: &str) -> Result<Arc<HashMap<String, Key>>, JwtError> {
        let _one_at_a_time = self.fetching.lock().await;
        let keys = self.keys();
        if keys.contains_key(kid) {
            return Ok(keys); // fetched meanwhile
        }
        {
            let mut last = self.last_fetch.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < self.refetch_after) {
                return Ok(keys);
            }
            *last = Some(Instant::now());
        }
        let set = self.auth.jwks().await?;
        let fresh = Arc::new(parse(&set));
        log::info!("fetched the auth server's JWKS: {} key(s)", fresh.len());
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        Ok(fresh)
    }
}

/// The usable signing keys of a JWKS by `kid` (keys without a kid, or for encryption, are skipped).
fn parse(set: &JwkSet) -> HashMap<String, Key> {
    set.keys
        .iter()
        .filter(|jwk| !matches!(jwk.common.public_key_use, Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)))
        .filter(|jwk| !matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)))
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let decoding = DecodingKey::from_jwk(jwk).ok()?;
            let algorithm = jwk.common.key_algorithm.and_then(algorithm_of);
            Some((kid, Key { decoding, algorithm }))
        })
        .collect()
}

fn algorithm_of(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_at_jwt_typed_tokens_are_validated_locally() {
        // Headers {"alg":"RS256","typ":"at+jwt","kid":"k"}, {"alg":"RS256","typ":"application/AT+JWT"}, {"alg":"RS256","typ":"JWT"}.
        assert!(access_jwt_header("eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsifQ.e30.sig").is_some());
        assert!(access_jwt_header("eyJhbGciOiJSUzI1NiIsInR5cCI6ImFwcGxpY2F0aW9uL0FUK0pXVCJ9.e30.sig").is_some());
        assert!(access_jwt_header("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig").is_none(), "an id_token");
        assert!(access_jwt_header("Q2xlYXJseU9wYXF1ZVRva2VuVmFsdWVfXzQzY2hhcmFjdGVycw").is_none());
        assert!(access_jwt_header("a.b.c").is_none());
    }
}
