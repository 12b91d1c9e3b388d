//! The bearer-token extractor (RFC 6750 §2.1): `Authorization: Bearer <token>` becomes a [`Principal`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use shared_core::oauth::{scope_string_contains, Authorization};
use shared_core::request::authorization;

use crate::error::Error;
use crate::introspection::{LocalUser, Principal, Validation};
use crate::state::AppState;

/// A request whose bearer token the auth server vouches for.
pub struct Authenticated(pub Arc<Principal>);

impl Authenticated {
    /// The token's user, if it holds `scope`. A client_credentials token is authenticated but acts for
    /// nobody, so it is refused (403) as in the tutorial.
    pub fn user_with_scope(&self, scope: &'static str) -> Result<&LocalUser, Error> {
        let user = self.0.user.as_ref().ok_or(Error::UserRequired)?;
        if !scope_string_contains(&self.0.scope, scope) {
            return Err(Error::InsufficientScope(scope));
        }
        Ok(user)
    }
}

/// The request's bearer token: `Ok(None)` without one (no header, or another scheme), `Err` for a malformed
/// one (see [`Authorization::MalformedBearer`]), which is never looked up.
pub fn bearer_token(req: &HttpRequest) -> Result<Option<&str>, Error> {
    match authorization(req) {
        Some(Authorization::Bearer(token)) => Ok(Some(token)),
        Some(Authorization::MalformedBearer) => Err(Error::InvalidToken { token_sent: true }),
        _ => Ok(None),
    }
}

impl FromRequest for Authenticated {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req).map(|t| t.map(str::to_owned));
        Box::pin(async move {
            let state = state.ok_or(Error::Misconfigured("the application state is not registered"))?;
            let token = token?.ok_or(Error::InvalidToken { token_sent: false })?;
            match state.tokens.validate(&token, Instant::now()).await? {
                Validation::Active(principal) => Ok(Authenticated(principal)),
                Validation::Inactive => Err(Error::InvalidToken { token_sent: true }),
            }
        })
    }
}
