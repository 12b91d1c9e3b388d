//! The `Authorization` request header, parsed the same way by both servers.

use std::fmt;

/// The longest bearer token accepted. This project's tokens are 43 characters; a JWT from another server is
/// rarely over 2 KiB. Anything longer is refused locally (never sent to the auth server for introspection).
pub const MAX_BEARER_TOKEN_BYTES: usize = 4096;

/// An `Authorization` header value. The scheme is case-insensitive and followed by one or more spaces
/// (RFC 7235 §2.1).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Authorization<'a> {
    /// `Bearer <token>` with a well-formed RFC 6750 §2.1 `b64token` of at most
    /// [`MAX_BEARER_TOKEN_BYTES`].
    Bearer(&'a str),
    /// `Bearer` without a token, with more than one (`Bearer a b`), with characters a `b64token` cannot
    /// hold (controls, quotes, non-ASCII), or too long. Never a valid token: both servers answer 401
    /// `invalid_token` without looking it up.
    MalformedBearer,
    /// `Basic <credentials>`, still encoded: only the auth server decodes them (RFC 6749 §2.3.1). Empty
    /// when they are not ASCII, which no base64 text is.
    Basic(&'a str),
    /// Any other scheme.
    Other,
}

impl<'a> Authorization<'a> {
    /// Parses a header value (as bytes: a header need not be UTF-8).
    pub fn parse(value: &'a [u8]) -> Self {
        let value = value.trim_ascii();
        let (scheme, credentials) = match value.iter().position(|b| *b == b' ') {
            Some(space) => (&value[..space], value[space..].trim_ascii_start()),
            None => (value, &value[value.len()..]),
        };
        if scheme.eq_ignore_ascii_case(b"bearer") {
            match std::str::from_utf8(credentials) {
                Ok(token) if is_b64token(token) && token.len() <= MAX_BEARER_TOKEN_BYTES => Self::Bearer(token),
                _ => Self::MalformedBearer,
            }
        } else if scheme.eq_ignore_ascii_case(b"basic") {
            Self::Basic(std::str::from_utf8(credentials).ok().filter(|c| c.is_ascii()).unwrap_or(""))
        } else {
            Self::Other
        }
    }

    /// Does the header use the Bearer scheme, well-formed or not?
    pub fn is_bearer(&self) -> bool {
        matches!(self, Self::Bearer(_) | Self::MalformedBearer)
    }
}

impl fmt::Debug for Authorization<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bearer(_) => "Bearer(<redacted>)",
            Self::MalformedBearer => "MalformedBearer",
            Self::Basic(_) => "Basic(<redacted>)",
            Self::Other => "Other",
        })
    }
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 §2.1).
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Authorization<'_> {
        Authorization::parse(value.as_bytes())
    }

    #[test]
    fn a_bearer_token_is_taken_whatever_the_scheme_case_and_spacing() {
        assert_eq!(parse("Bearer abc.DEF-_~+/=="), Authorization::Bearer("abc.DEF-_~+/=="));
        assert_eq!(parse("bearer   abc"), Authorization::Bearer("abc"));
        assert_eq!(parse("  BEARER abc  "), Authorization::Bearer("abc"));
    }

    #[test]
    fn a_malformed_bearer_token_is_never_a_token() {
        for value in ["Bearer", "Bearer ", "Bearer a b", "Bearer a\u{0}b", "Bearer \"abc\"", "Bearer é", "Bearer =="] {
            assert_eq!(parse(value), Authorization::MalformedBearer, "{value:?}");
        }
        assert_eq!(Authorization::parse(b"Bearer \xff\xfe"), Authorization::MalformedBearer);
    }

    #[test]
    fn an_oversized_bearer_token_is_malformed() {
        let longest = "a".repeat(MAX_BEARER_TOKEN_BYTES);
        assert_eq!(parse(&format!("Bearer {longest}")), Authorization::Bearer(&longest));
        assert_eq!(parse(&format!("Bearer {longest}a")), Authorization::MalformedBearer);
    }

    #[test]
    fn other_schemes_are_told_apart() {
        assert_eq!(parse("Basic cnMtaWQ6cnMtc2VjcmV0"), Authorization::Basic("cnMtaWQ6cnMtc2VjcmV0"));
        assert_eq!(Authorization::parse(b"Basic \xff"), Authorization::Basic(""));
        assert_eq!(parse("Digest x"), Authorization::Other);
        assert_eq!(parse("Bearerabc"), Authorization::Other);
        assert!(parse("Bearer a b").is_bearer() && !parse("Basic x").is_bearer());
    }

    #[test]
    fn debug_output_hides_credentials() {
        assert_eq!(format!("{:?}", parse("Bearer secret-token")), "Bearer(<redacted>)");
        assert_eq!(format!("{:?}", parse("Basic c2VjcmV0")), "Basic(<redacted>)");
    }
}
