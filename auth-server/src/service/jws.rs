//! A jsonwebtoken crypto provider that keeps RSA keys parsed. jsonwebtoken's own aws-lc provider parses the
//! key from DER on every signature, and a fresh key also sets up its blinding for each one: measured at
//! about 60 % of a code exchange's CPU (BENCHMARKS.md). Here a key is parsed once and reused, so each
//! signature pays only the RSA operation. Everything else (the JOSE header, encoding, verification) stays
//! jsonwebtoken's.

use std::sync::{Arc, LazyLock, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use jsonwebtoken::crypto::{aws_lc, CryptoProvider, JwtSigner};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{signature, Algorithm, EncodingKey};

/// Parsed keys by their DER bytes. Keys change only on rotation, so a handful is plenty.
static PARSED: RwLock<Vec<(Vec<u8>, Arc<RsaKeyPair>)>> = RwLock::new(Vec::new());
const KEEP: usize = 4;

static PROVIDER: LazyLock<CryptoProvider> =
    LazyLock::new(|| CryptoProvider { signer_factory, ..aws_lc::DEFAULT_PROVIDER.clone() });

/// Makes this the process's provider. Must run before anything signs; a second call changes nothing.
pub fn install() {
    if let Err(other) = PROVIDER.install_default() {
        if !std::ptr::eq(other, &*PROVIDER) {
            log::warn!("another jsonwebtoken crypto provider was installed first: RSA keys are parsed per signature");
        }
    }
}

fn signer_factory(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::RS256 {
        return (aws_lc::DEFAULT_PROVIDER.signer_factory)(algorithm, key);
    }
    Ok(Box::new(Rs256(parsed(key.as_bytes())?)))
}

fn parsed(der: &[u8]) -> Result<Arc<RsaKeyPair>> {
    let cached = PARSED.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, pair)) = cached.iter().find(|(known, _)| known == der) {
        return Ok(Arc::clone(pair));
    }
    drop(cached);
    let pair = Arc::new(RsaKeyPair::from_der(der).map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?);
    let mut cache = PARSED.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if cache.len() >= KEEP {
        cache.remove(0);
    }
    cache.push((der.to_vec(), Arc::clone(&pair)));
    Ok(pair)
}

struct Rs256(Arc<RsaKeyPair>);

impl signature::Signer<Vec<u8>> for Rs256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
            .map_err(signature::Error::from_source)?;
        Ok(signature)
    }
}

impl JwtSigner for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Header, Validation};
    use serde_json::json;

    use super::*;

    #[test]
    fn a_key_is_parsed_once_and_its_signatures_verify() {
        install();
        let generated = crate::service::keys::generate().unwrap();
        let key = EncodingKey::from_rsa_pem(generated.private_key_pem.as_bytes()).unwrap();
        let header = Header::new(Algorithm::RS256);
        let tokens: Vec<String> =
            (0..3).map(|n| jsonwebtoken::encode(&header, &json!({"n": n}), &key).unwrap()).collect();

        let entries = PARSED.read().unwrap().iter().filter(|(der, _)| der.as_slice() == key.as_bytes()).count();
        assert_eq!(entries, 1, "parsed once, reused for the next signatures");
        let jwk = &generated.public_jwk;
        let public = DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        for (n, token) in tokens.iter().enumerate() {
            let claims = jsonwebtoken::decode::<serde_json::Value>(token, &public, &validation).unwrap().claims;
            assert_eq!(claims["n"], n);
        }
    }
}
