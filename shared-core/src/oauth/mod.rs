//! OAuth 2.0 on the wire: the request forms of the token, introspection and revocation endpoints, the token
//! and introspection responses, the error body and its codes, scope strings, and the `Authorization`
//! header.

mod authorization;
mod authorize;
mod errors;
mod requests;
mod responses;
mod scopes;

pub use self::authorization::{Authorization, MAX_BEARER_TOKEN_BYTES};
pub use self::authorize::AuthorizationRequest;
pub use self::errors::{bearer_challenge, ErrorBody, ErrorCode};
pub use self::requests::{redacted, TokenParameters, TokenRequest};
pub use self::responses::{Audience, IntrospectionResponse, TokenResponse};
pub use self::scopes::{scope_string_contains, ScopeSyntaxError, Scopes};
