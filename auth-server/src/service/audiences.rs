//! Whom a token is for (RFC 8707 resource indicators): the `resource` of a token request, checked against
//! the registered resources and the client's allowed audiences, and the scopes a token for it may carry.

use shared_core::oauth::{ErrorCode, Scopes};

use super::client_auth::Client;
use super::oidc::{EMAIL, OPENID};
use crate::db::{self, resources};
use crate::error::Error;
use crate::state::AppState;

/// OpenID Connect scopes concern the auth server's userinfo, not the resource: always allowed.
const IDENTITY_SCOPES: [&str; 3] = [OPENID, EMAIL, "profile"];

/// A registered resource a token request named.
#[derive(Debug, Clone)]
pub struct Target {
    pub identifier: String,
    scopes: Scopes,
}

impl Target {
    /// A token for this resource may carry `scope` (identity scopes aside); `invalid_scope` otherwise.
    pub fn check_scope(&self, scope: &Scopes) -> Result<(), Error> {
        match scope.iter().find(|s| !IDENTITY_SCOPES.contains(s) && !self.scopes.contains(s)) {
            Some(outside) => Err(Error::oauth(
                ErrorCode::InvalidScope,
                format!("the scope {outside:?} is not one of {}'s", self.identifier),
            )),
            None => Ok(()),
        }
    }
}

fn invalid_target(why: String) -> Error {
    Error::oauth(ErrorCode::InvalidTarget, why)
}

/// The resource named by `resource`, if any: registered, and among the client's audiences when it has any.
pub async fn resolve(state: &AppState, client: &Client, resource: Option<&str>) -> Result<Option<Target>, Error> {
    let Some(identifier) = resource else { return Ok(None) };
    if super::registration::check_resource_identifier(identifier).is_err() {
        return Err(invalid_target(format!("{identifier:?} is not an absolute URI without a fragment")));
    }
    if !client.audiences.is_empty() && !client.audiences.iter().any(|a| a == identifier) {
        return Err(invalid_target(format!("this client may not ask for tokens for {identifier:?}")));
    }
    let wanted = identifier.to_owned();
    let Some(row) = db::read(&state.pool, move |c| Ok(resources::find(c, &wanted)?)).await? else {
        return Err(invalid_target(format!("no resource {identifier:?} is registered")));
    };
    Ok(Some(Target { identifier: row.identifier, scopes: Scopes::parse(&row.scopes).unwrap_or_default() }))
}
