//! The error body of RFC 6749 §5.2 and RFC 6750 §3, its codes, and the `WWW-Authenticate: Bearer` challenge.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The error codes both servers answer with: RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1, plus the two
/// the resource server needs beyond OAuth's (named here, never as loose strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidToken,
    InsufficientScope,
    UnsupportedTokenType,
    TemporarilyUnavailable,
    ServerError,
    /// RFC 6749 §4.1.2.1's code for a refused request: the user denied consent; the resource server's "not
    /// the item's owner".
    AccessDenied,
    /// RFC 6749 §4.1.2.1: only `response_type=code` is supported.
    UnsupportedResponseType,
    /// OpenID Connect Core §3.1.2.6: `prompt=none` without a session.
    LoginRequired,
    /// OpenID Connect Core §3.1.2.6: `prompt=none` and the user has not consented yet.
    ConsentRequired,
    /// OpenID Connect Core §3.1.2.6: request objects (`request`, `request_uri`) are not supported.
    RequestNotSupported,
    RequestUriNotSupported,
    /// No such resource (404); this project's code, as RFC 6749 defines none.
    NotFound,
    /// RFC 8707 §2: the requested resource is unknown, malformed, or not allowed to the client.
    InvalidTarget,
    /// The resource server's account proxy has nothing to forward to: the authorization server it uses has
    /// no such endpoint (501); this project's code.
    NotImplemented,
    /// Too many attempts (429 with `Retry-After`): RFC 8628 §3.5's "slow down", registered for the token
    /// endpoint, used for every rate-limit refusal.
    SlowDown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::NotFound => "not_found",
            Self::InvalidTarget => "invalid_target",
            Self::NotImplemented => "not_implemented",
            Self::SlowDown => "slow_down",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"error": "...", "error_description": "..."}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_description: Option<String>,
    /// On a server error only: the request's id, which its log lines carry, for a support request to quote.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self { error: code.as_str().to_owned(), error_description: Some(description.into()), request_id: None }
    }

    /// The body with the id of the request being answered.
    #[cfg(feature = "actix")]
    pub fn with_request_id(self) -> Self {
        Self { request_id: crate::request_context::with_request_id(|id| id.map(str::to_owned)), ..self }
    }
}

/// An RFC 6750 §3 `WWW-Authenticate` value: `Bearer realm="..."`, plus `error` and `scope` when given.
pub fn bearer_challenge(realm: &str, error: Option<ErrorCode>, scope: Option<&str>) -> String {
    let mut value = format!("Bearer realm=\"{realm}\"");
    if let Some(error) = error {
        value.push_str(&format!(", error=\"{error}\""));
    }
    if let Some(scope) = scope {
        value.push_str(&format!(", scope=\"{scope}\""));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_name_the_error_and_scope_only_when_given() {
        assert_eq!(bearer_challenge("rs", None, None), "Bearer realm=\"rs\"");
        assert_eq!(
            bearer_challenge("rs", Some(ErrorCode::InsufficientScope), Some("write")),
            "Bearer realm=\"rs\", error=\"insufficient_scope\", scope=\"write\""
        );
    }

    #[test]
    fn error_bodies_carry_the_code_and_skip_an_absent_description() {
        let body = ErrorBody { error: ErrorCode::NotFound.to_string(), error_description: None, request_id: None };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"error":"not_found"}"#);
        assert_eq!(ErrorBody::new(ErrorCode::AccessDenied, "x").error, "access_denied");
    }
}
