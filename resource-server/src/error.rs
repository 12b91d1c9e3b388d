//! The resource server's one error type and the one place it becomes an HTTP answer: RFC 6750 §3
//! challenges for bearer failures, `{"error", "error_description"}` bodies with a code from
//! [`ErrorCode`], DRF field errors for validation. Server-side failures log their cause chain here, once.

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use shared_core::db::BlockingError;
use shared_core::oauth::{ErrorBody, ErrorCode};
use shared_core::report::{Chain, Throttle};
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
    /// 405, with the methods the resource does allow.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// The body did not arrive within `http.body_timeout_ms` (408; the connection is closed).
    #[error("the request body was not received in time")]
    RequestTimeout,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported content type")]
    UnsupportedMediaType(&'static str),
    /// Too many account calls from the client's address (429 with `Retry-After`, `slow_down`).
    #[error("too many attempts; retry in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// The auth server has no endpoint for this account call (it is not this project's auth server): 501.
    #[error("the auth server has no {0} endpoint")]
    NotImplemented(&'static str),
    /// The auth server could not answer, or not usefully (503 with `Retry-After`).
    #[error("the auth server cannot be used")]
    AuthServer(#[from] UpstreamError),
    /// The introspection this request waited for (its own, or another request's for the same token)
    /// failed; answered as that failure is.
    #[error("token validation failed")]
    Introspection(#[source] Arc<Error>),
    /// No database connection could be had (503), or the database task failed (500).
    #[error("database access failed")]
    Database(#[from] BlockingError),
    #[error("database query failed")]
    Query(#[from] diesel::result::Error),
    /// A bug in how the server was put together (500).
    #[error("misconfigured: {0}")]
    Misconfigured(&'static str),
}

/// Why a call to the auth server gave no usable answer. Never carries a request body: those hold tokens,
/// passwords or the client secret.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the call to the {path} endpoint failed")]
    Transport {
        path: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("the {path} endpoint answered {status}")]
    Status { path: &'static str, status: reqwest::StatusCode },
    #[error("the auth server refused this server's introspection credentials ({0}); check RESOURCE_SERVER__AUTH__*")]
    CredentialsRefused(reqwest::StatusCode),
    #[error("the auth server's answer could not be read")]
    Malformed(#[source] reqwest::Error),
    #[error("the introspection circuit is open: the auth server has been failing")]
    CircuitOpen,
    #[error("every introspection slot is taken")]
    Saturated,
    #[error("a JWT access token came but the auth server publishes no JWKS; set auth.jwks_url")]
    NoJwks,
}

impl From<shared_core::body::BodyError> for Error {
    fn from(error: shared_core::body::BodyError) -> Self {
        use shared_core::body::BodyError;
        match error {
            BodyError::TooLarge => Self::PayloadTooLarge,
            BodyError::UnsupportedMediaType(expected) => Self::UnsupportedMediaType(expected),
            BodyError::Timeout => Self::RequestTimeout,
            BodyError::Unreadable | BodyError::Malformed(_) => Self::BadRequest(error.to_string().into()),
        }
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

fn challenge(error: Option<ErrorCode>, scope: Option<&str>) -> HeaderValue {
    // The realm, the codes and the scope names are ASCII constants, which a header value always accepts.
    HeaderValue::from_str(&shared_core::oauth::bearer_challenge(REALM, error, scope))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidToken { .. } => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope(_) | Self::UserRequired | Self::NotOwner => StatusCode::FORBIDDEN,
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::AuthServer(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Introspection(error) => error.status_code(),
            Self::Database(error) if error.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Query(error) if shared_core::db::is_unavailable_error(error) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_) | Self::Query(_) | Self::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let body = match self {
            Self::Validation(errors) => return response.json(errors),
            Self::Introspection(error) => return error.error_response(),
            Self::InvalidToken { token_sent: true } => {
                response.insert_header((header::WWW_AUTHENTICATE, challenge(Some(ErrorCode::InvalidToken), None)));
                ErrorBody::new(ErrorCode::InvalidToken, "the access token is invalid, expired or revoked")
            }
            Self::InvalidToken { token_sent: false } => {
                response.insert_header((header::WWW_AUTHENTICATE, challenge(None, None)));
                ErrorBody::new(ErrorCode::InvalidRequest, "authentication credentials were not provided")
            }
            Self::InsufficientScope(scope) => {
                let value = challenge(Some(ErrorCode::InsufficientScope), Some(scope));
                response.insert_header((header::WWW_AUTHENTICATE, value));
                ErrorBody::new(ErrorCode::InsufficientScope, format!("the token lacks the \"{scope}\" scope"))
            }
            Self::UserRequired => {
                response.insert_header((header::WWW_AUTHENTICATE, challenge(Some(ErrorCode::InsufficientScope), None)));
                ErrorBody::new(ErrorCode::InsufficientScope, "this endpoint needs a token issued to a user")
            }
            Self::NotOwner => ErrorBody::new(ErrorCode::AccessDenied, "only the item's owner may change or delete it"),
            Self::BadRequest(description) => ErrorBody::new(ErrorCode::InvalidRequest, description.clone()),
            Self::NotFound => ErrorBody::new(ErrorCode::NotFound, "Not found."),
            Self::MethodNotAllowed(allow) => {
                response.insert_header((header::ALLOW, *allow));
                ErrorBody::new(ErrorCode::InvalidRequest, "method not allowed")
            }
            Self::RequestTimeout => {
                // The rest of the body may still be on its way: this connection cannot carry another request.
                response.force_close();
                ErrorBody::new(ErrorCode::InvalidRequest, "the request body was not received in time")
            }
            Self::PayloadTooLarge => ErrorBody::new(ErrorCode::InvalidRequest, "request body is too large"),
            Self::TooManyAttempts { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
                ErrorBody::new(ErrorCode::SlowDown, format!("too many attempts; retry in {retry_after} s"))
            }
            Self::NotImplemented(endpoint) => ErrorBody::new(
                ErrorCode::NotImplemented,
                format!("the authorization server this resource server uses has no {endpoint} endpoint"),
            ),
            Self::UnsupportedMediaType(expected) => {
                ErrorBody::new(ErrorCode::InvalidRequest, format!("the body must be {expected}"))
            }
            Self::AuthServer(_) | Self::Database(_) | Self::Query(_) | Self::Misconfigured(_) => {
                return self.server_error(response);
            }
        };
        response.json(body)
    }
}

/// 503s come in floods while a database or the auth server is down: one line a second says so.
static UNAVAILABLE_LOG: Throttle = Throttle::new(std::time::Duration::from_secs(1));

impl Error {
    /// 503 or 500: the cause chain is logged here, once; the client gets an opaque body.
    fn server_error(&self, mut response: HttpResponseBuilder) -> HttpResponse {
        if let Self::AuthServer(_) = self {
            // Logged once where it happened (the failed introspection, the circuit's change of state): with the
            // auth server down, a line per request would flood the log.
            log::debug!("answering 503: {}", Chain(self));
        } else if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            match UNAVAILABLE_LOG.admit() {
                Some(0) => log::warn!("answering 503: {}", Chain(self)),
                Some(held_back) => {
                    log::warn!("answering 503: {} ({held_back} more since the last report)", Chain(self))
                }
                None => log::debug!("answering 503: {}", Chain(self)),
            }
        } else {
            log::error!("answering 500: {}", Chain(self));
        }
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, "5"));
            let description = match self {
                Self::AuthServer(_) => "the authorization server cannot be reached; retry shortly",
                _ => "the server is busy, retry shortly",
            };
            response.json(ErrorBody::new(ErrorCode::TemporarilyUnavailable, description).with_request_id())
        } else {
            response.json(ErrorBody::new(ErrorCode::ServerError, "internal server error").with_request_id())
        }
    }
}
