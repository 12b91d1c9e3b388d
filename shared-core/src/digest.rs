//! Token digests: what the servers store and cache instead of a bearer token or a refresh token.

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of a token. Tokens are 256-bit random values, so a fast hash is enough: a leaked
/// digest cannot be turned back into a usable token.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The raw 32-byte digest, for in-memory cache keys (no hex allocation on the hot path).
pub fn token_digest_bytes(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(token_digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hex::encode(token_digest_bytes("abc")), token_digest("abc"));
    }
}
