//! The auth server's one error type, and the one place where it becomes an HTTP answer:
//! RFC 6749 §5.2 bodies on OAuth endpoints, RFC 6750 §3 challenges on bearer-protected ones,
//! DRF-shaped field errors on the account endpoints.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shared_core::db::BlockingError;
use shared_core::oauth::{ErrorBody, ErrorCode};
use shared_core::report::{Chain, Throttle};
use shared_core::FieldErrors;

pub const REALM: &str = "auth-server";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An RFC 6749 §5.2 error other than `invalid_client`.
    #[error("{code}: {description}")]
    OAuth { code: ErrorCode, description: Cow<'static, str> },
    /// Client authentication failed or was missing (401). The answer always carries
    /// `WWW-Authenticate: Basic` (RFC 6749 §5.2 requires it when Basic was tried, RFC 7235 §3.1 on every 401).
    #[error("invalid_client")]
    InvalidClient,
    /// An authenticated client that may not do this (403).
    #[error("client not permitted: {0}")]
    ClientForbidden(Cow<'static, str>),
    /// No usable bearer token (401, RFC 6750 §3). `token_sent` adds `error="invalid_token"`.
    #[error("bearer token missing or invalid")]
    InvalidToken { token_sent: bool },
    /// A valid bearer token without the needed scope (403, RFC 6750 §3.1).
    #[error("insufficient scope, needs {0}")]
    InsufficientScope(&'static str),
    /// A valid bearer token that carries no user where one is required (403).
    #[error("this endpoint needs a user's token")]
    UserRequired,
    /// A browser request that cannot be answered by a redirect: unknown client, unregistered redirect URI,
    /// a malformed query (400, shown on a page).
    #[error("bad browser request: {0}")]
    BadPageRequest(&'static str),
    /// A form without the CSRF token of its cookie (403).
    #[error("CSRF token missing or incorrect")]
    CsrfFailed,
    /// Field validation (400), DRF shape.
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported content type")]
    UnsupportedMediaType(&'static str),
    #[error("not found")]
    NotFound,
    /// 405, with the methods the resource does allow.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// The body did not arrive within `http.body_timeout_ms` (408; the connection is closed).
    #[error("the request body was not received in time")]
    RequestTimeout,
    /// Too many credential checks from the client's address, or a locked account where saying so leaks
    /// nothing (429 with `Retry-After`, `slow_down`).
    #[error("too many attempts; retry in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// The password hasher's queue is full: 503.
    #[error("the password hashing queue is full")]
    HasherBusy,
    /// The password hasher's threads are gone: 500.
    #[error("the password hashing threads have stopped")]
    HasherStopped,
    #[error("bcrypt failed")]
    Bcrypt(#[from] bcrypt::BcryptError),
    /// The OpenID Connect signing keys could not be used (500).
    #[error("signing failed")]
    Signing(#[from] crate::service::keys::KeyError),
    /// A page template failed to render (500).
    #[error("a page template failed to render")]
    Template(#[source] askama::Error),
    #[error("the operating system's random number generator failed")]
    Random(#[from] getrandom::Error),
    /// No database connection could be had (503), or the database task failed (500).
    #[error("database access failed")]
    Database(#[from] BlockingError),
    #[error("database query failed")]
    Query(#[from] diesel::result::Error),
}

impl Error {
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::OAuth { code: ErrorCode::InvalidRequest, description: description.into() }
    }

    pub fn oauth(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self::OAuth { code, description: description.into() }
    }
}

impl From<shared_core::body::BodyError> for Error {
    fn from(error: shared_core::body::BodyError) -> Self {
        use shared_core::body::BodyError;
        match error {
            BodyError::TooLarge => Self::PayloadTooLarge,
            BodyError::UnsupportedMediaType(expected) => Self::UnsupportedMediaType(expected),
            BodyError::Timeout => Self::RequestTimeout,
            BodyError::Unreadable | BodyError::Malformed(_) => Self::invalid_request(error.to_string()),
        }
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

fn bearer_challenge(error: Option<ErrorCode>, scope: Option<&str>) -> HeaderValue {
    // The realm, the codes and the scope names are ASCII constants, which a header value always accepts.
    HeaderValue::from_str(&shared_core::oauth::bearer_challenge(REALM, error, scope))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::OAuth { .. } | Self::Validation(_) | Self::BadPageRequest(_) => StatusCode::BAD_REQUEST,
            Self::CsrfFailed => StatusCode::FORBIDDEN,
            Self::InvalidClient | Self::InvalidToken { .. } => StatusCode::UNAUTHORIZED,
            Self::ClientForbidden(_) | Self::InsufficientScope(_) | Self::UserRequired => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::HasherBusy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(error) if error.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Query(error) if shared_core::db::is_unavailable_error(error) => StatusCode::SERVICE_UNAVAILABLE,
            Self::HasherStopped
            | Self::Bcrypt(_)
            | Self::Signing(_)
            | Self::Template(_)
            | Self::Random(_)
            | Self::Database(_)
            | Self::Query(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
        let body = match self {
            Self::Validation(errors) => return response.json(errors),
            Self::OAuth { code, description } => ErrorBody::new(*code, description.clone()),
            Self::InvalidClient => {
                response.insert_header((header::WWW_AUTHENTICATE, format!("Basic realm=\"{REALM}\"")));
                ErrorBody::new(ErrorCode::InvalidClient, "client authentication failed")
            }
            Self::ClientForbidden(description) => ErrorBody::new(ErrorCode::UnauthorizedClient, description.clone()),
            Self::BadPageRequest(description) => ErrorBody::new(ErrorCode::InvalidRequest, *description),
            Self::CsrfFailed => ErrorBody::new(ErrorCode::InvalidRequest, "CSRF token missing or incorrect"),
            Self::InvalidToken { token_sent } => {
                if *token_sent {
                    response.insert_header((
                        header::WWW_AUTHENTICATE,
                        bearer_challenge(Some(ErrorCode::InvalidToken), None),
                    ));
                    ErrorBody::new(ErrorCode::InvalidToken, "the access token is invalid, expired or revoked")
                } else {
                    response.insert_header((header::WWW_AUTHENTICATE, bearer_challenge(None, None)));
                    ErrorBody::new(ErrorCode::InvalidRequest, "authentication credentials were not provided")
                }
            }
            Self::InsufficientScope(scope) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    bearer_challenge(Some(ErrorCode::InsufficientScope), Some(scope)),
                ));
                ErrorBody::new(ErrorCode::InsufficientScope, format!("the token lacks the \"{scope}\" scope"))
            }
            Self::UserRequired => {
                ErrorBody::new(ErrorCode::InsufficientScope, "this endpoint needs a token issued to a user")
            }
            Self::PayloadTooLarge => ErrorBody::new(ErrorCode::InvalidRequest, "request body is too large"),
            Self::UnsupportedMediaType(expected) => {
                ErrorBody::new(ErrorCode::InvalidRequest, format!("the body must be {expected}"))
            }
            Self::NotFound => ErrorBody::new(ErrorCode::InvalidRequest, "no such endpoint"),
            Self::MethodNotAllowed(allow) => {
                response.insert_header((header::ALLOW, *allow));
                ErrorBody::new(ErrorCode::InvalidRequest, "method not allowed")
            }
            Self::RequestTimeout => {
                // The rest of the body may still be on its way: this connection cannot carry another request.
                response.force_close();
                ErrorBody::new(ErrorCode::InvalidRequest, "the request body was not received in time")
            }
            Self::TooManyAttempts { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
                ErrorBody::new(ErrorCode::SlowDown, format!("too many attempts; retry in {retry_after} s"))
            }
            Self::HasherBusy
            | Self::HasherStopped
            | Self::Bcrypt(_)
            | Self::Signing(_)
            | Self::Template(_)
            | Self::Random(_)
            | Self::Database(_)
            | Self::Query(_) => {
                return self.server_error(response);
            }
        };
        response.json(body)
    }
}

/// An error on a browser page (`/o/authorize/`, `/o/logout/`): the same causes as [`Error`], shown as a
/// readable HTML page with the same status.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PageError(#[from] pub Error);

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (title, message): (&str, Cow<'static, str>) = match &self.0 {
            Error::BadPageRequest(message) => ("This request cannot be completed", Cow::Borrowed(*message)),
            Error::CsrfFailed => (
                "This form has expired",
                Cow::Borrowed("The form was not sent from this site, or it is too old. Reload the page and try again."),
            ),
            Error::OAuth { description, .. } => ("This request cannot be completed", description.clone()),
            Error::PayloadTooLarge => ("This request is too large", Cow::Borrowed("The form sent is too large.")),
            Error::TooManyAttempts { retry_after } => (
                "Too many attempts",
                Cow::Owned(format!("Too many attempts from your address. Try again in {retry_after} seconds.")),
            ),
            Error::MethodNotAllowed(_) | Error::NotFound | Error::RequestTimeout | Error::UnsupportedMediaType(_) => {
                ("This request cannot be completed", Cow::Owned(self.0.to_string()))
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                self.0.log_server_error();
                ("The service is busy", with_reference("Please try again in a moment."))
            }
            _ if status.is_server_error() => {
                self.0.log_server_error();
                ("Something went wrong", with_reference("The server could not complete the request."))
            }
            _ => ("This request cannot be completed", Cow::Owned(self.0.to_string())),
        };
        let mut response = crate::routes::pages::error_page(status, title, &message);
        if let Error::MethodNotAllowed(allow) = &self.0 {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Error::TooManyAttempts { retry_after } = &self.0 {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        response
    }
}

/// A server error page's message, with the request id a support request can quote.
fn with_reference(message: &'static str) -> Cow<'static, str> {
    match shared_core::request_context::with_request_id(|id| id.map(str::to_owned)) {
        Some(id) => Cow::Owned(format!("{message} (Reference: {id})")),
        None => Cow::Borrowed(message),
    }
}

/// 503s come in floods while a database or the auth server is down: one line a second says so.
static UNAVAILABLE_LOG: Throttle = Throttle::new(std::time::Duration::from_secs(1));

impl Error {
    /// 503 or 500: the cause chain is logged here, once; the client gets an opaque body.
    fn server_error(&self, mut response: actix_web::HttpResponseBuilder) -> HttpResponse {
        self.log_server_error();
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, "1"));
            response.json(
                ErrorBody::new(ErrorCode::TemporarilyUnavailable, "the server is busy, retry shortly")
                    .with_request_id(),
            )
        } else {
            response.json(ErrorBody::new(ErrorCode::ServerError, "internal server error").with_request_id())
        }
    }

    fn log_server_error(&self) {
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
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
    }
}

impl From<crate::service::access_jwt::MintError> for Error {
    fn from(error: crate::service::access_jwt::MintError) -> Self {
        use crate::service::access_jwt::MintError;
        match error {
            MintError::Random(e) => Self::Random(e),
            MintError::Sign(e) => Self::Signing(e),
        }
    }
}
