//! The resource server's one error type and the one place it becomes an HTTP answer: RFC 6750 §3
//! challenges for bearer failures, `{"error", "error_description"}` bodies, DRF field errors for validation.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shared_core::oauth::{ErrorBody, ErrorCode};
use shared_core::FieldErrors;

pub const REALM: &str = "resource-server";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No usable bearer token (401). `token_sent` adds `error="invalid_token"` (RFC 6750 §3.1).
    #[error("bearer token missing or invalid")]
    InvalidToken { token_sent: bool },
    /// The token lacks the scope the endpoint needs (403, RFC 6750 §3.1).
    #[error("insufficient scope, needs {0}")]
    InsufficientScope(&'static str),
    /// A valid token without a user (client_credentials) on an endpoint that acts for a user (403).
    #[error("this endpoint needs a user's token")]
    UserRequired,
    /// Authenticated, but not the owner of the item (403).
    #[error("not the owner")]
    NotOwner,
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(Cow<'static, str>),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported content type")]
    UnsupportedMediaType(&'static str),
    /// The auth server or the database cannot answer now (503 with `Retry-After`).
    #[error("temporarily unavailable: {0}")]
    Unavailable(Cow<'static, str>),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}

impl From<shared_core::body::BodyError> for Error {
    fn from(error: shared_core::body::BodyError) -> Self {
        use shared_core::body::BodyError;
        match error {
            BodyError::TooLarge => Self::PayloadTooLarge,
            BodyError::UnsupportedMediaType(expected) => Self::UnsupportedMediaType(expected),
            BodyError::Unreadable | BodyError::Malformed(_) => Self::BadRequest(error.to_string().into()),
        }
    }
}

impl From<shared_core::db::BlockingError> for Error {
    fn from(error: shared_core::db::BlockingError) -> Self {
        if error.is_unavailable() {
            Self::Unavailable(error.to_string().into())
        } else {
            Self::Internal(error.to_string())
        }
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

fn challenge(error: Option<ErrorCode>, scope: Option<&str>) -> HeaderValue {
    HeaderValue::from_str(&shared_core::oauth::bearer_challenge(REALM, error, scope)).expect("challenge is ASCII")
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidToken { .. } => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope(_) | Self::UserRequired | Self::NotOwner => StatusCode::FORBIDDEN,
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let body = match self {
            Self::Validation(errors) => return response.json(errors),
            Self::InvalidToken { token_sent: true } => {
                response.insert_header((header::WWW_AUTHENTICATE, challenge(Some(ErrorCode::InvalidToken), None)));
                ErrorBody::new(ErrorCode::InvalidToken, "the access token is invalid, expired or revoked")
            }
            Self::InvalidToken { token_sent: false } => {
                response.insert_header((header::WWW_AUTHENTICATE, challenge(None, None)));
                ErrorBody::new(ErrorCode::InvalidRequest, "authentication credentials were not provided")
            }
            Self::InsufficientScope(scope) => {
                response.insert_header((header::WWW_AUTHENTICATE, challenge(Some(ErrorCode::InsufficientScope), Some(scope))));
                ErrorBody::new(ErrorCode::InsufficientScope, format!("the token lacks the \"{scope}\" scope"))
            }
            Self::UserRequired => ErrorBody::new(ErrorCode::InsufficientScope, "this endpoint needs a token issued to a user"),
            Self::NotOwner => ErrorBody {
                error: "access_denied".into(),
                error_description: Some("only the item's owner may change or delete it".into()),
            },
            Self::BadRequest(description) => ErrorBody::new(ErrorCode::InvalidRequest, description.clone()),
            Self::NotFound => ErrorBody { error: "not_found".into(), error_description: Some("Not found.".into()) },
            Self::MethodNotAllowed => ErrorBody::new(ErrorCode::InvalidRequest, "method not allowed"),
            Self::PayloadTooLarge => ErrorBody::new(ErrorCode::InvalidRequest, "request body is too large"),
            Self::UnsupportedMediaType(expected) => {
                ErrorBody::new(ErrorCode::InvalidRequest, format!("the body must be {expected}"))
            }
            Self::Unavailable(reason) => {
                log::warn!("answering 503: {reason}");
                response.insert_header((header::RETRY_AFTER, "5"));
                ErrorBody::new(ErrorCode::TemporarilyUnavailable, "the authorization server cannot be reached; retry shortly")
            }
            Self::Internal(cause) => {
                log::error!("internal error: {cause}");
                ErrorBody::new(ErrorCode::ServerError, "internal server error")
            }
        };
        response.json(body)
    }
}
