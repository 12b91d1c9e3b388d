//! Which scopes a token gets (RFC 6749 §3.3).

use shared_core::oauth::Scopes;

use crate::error::Error;
use shared_core::oauth::ErrorCode;

/// The machine-only scope: only `client_credentials` tokens of clients allowed it may carry it, so no user
/// token can introspect other people's tokens.
pub const INTROSPECTION: &str = "introspection";

/// Resolves the `scope` parameter of a token request. `allowed` is what the client may have; user tokens
/// never get [`INTROSPECTION`]. Without a parameter the token gets `defaults` within `allowed`.
pub fn grant_scopes(
    requested: Option<&str>,
    allowed: &Scopes,
    defaults: &Scopes,
    for_user: bool,
) -> Result<Scopes, Error> {
    let allowed = if for_user { allowed.without(INTROSPECTION) } else { allowed.clone() };
    let granted = match requested {
        Some(text) => {
            let requested = Scopes::parse(text).map_err(|e| Error::oauth(ErrorCode::InvalidScope, e.to_string()))?;
            if requested.is_empty() {
                defaults.intersection(&allowed)
            } else if !requested.is_subset(&allowed) {
                let hint = if for_user && requested.contains(INTROSPECTION) {
                    "the introspection scope is only granted to client_credentials tokens"
                } else {
                    "the requested scope exceeds what this client may be granted"
                };
                return Err(Error::oauth(ErrorCode::InvalidScope, hint));
            } else {
                requested
            }
        }
        None => defaults.intersection(&allowed),
    };
    if granted.is_empty() {
        return Err(Error::oauth(ErrorCode::InvalidScope, "no scope can be granted to this client"));
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Scopes {
        Scopes::parse(text).unwrap()
    }

    #[test]
    fn no_parameter_means_the_defaults_the_client_may_have() {
        let granted = grant_scopes(None, &s("read write introspection"), &s("read write"), true).unwrap();
        assert_eq!(granted.to_string(), "read write");
        let granted = grant_scopes(None, &s("read"), &s("read write"), false).unwrap();
        assert_eq!(granted.to_string(), "read");
    }

    #[test]
    fn user_tokens_never_get_introspection() {
        assert!(grant_scopes(Some("introspection"), &s("read introspection"), &s("read"), true).is_err());
        let granted = grant_scopes(Some("introspection"), &s("read introspection"), &s("read"), false).unwrap();
        assert_eq!(granted.to_string(), "introspection");
    }

    #[test]
    fn a_scope_beyond_the_client_is_invalid_scope() {
        match grant_scopes(Some("read admin"), &s("read write"), &s("read"), true) {
            Err(Error::OAuth { code: ErrorCode::InvalidScope, .. }) => {}
            other => panic!("expected invalid_scope, got {other:?}"),
        }
        assert!(grant_scopes(Some("\"read\""), &s("read"), &s("read"), true).is_err());
        assert!(grant_scopes(None, &s("introspection"), &s("read write"), true).is_err());
    }
}
