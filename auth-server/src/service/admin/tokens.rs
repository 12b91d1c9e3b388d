//! `token revoke`: the operator ends one token by its value, as its client could through RFC 7009
//! revocation (the same statements and the same revocation event), without the client's credentials.

use serde::Serialize;
use shared_core::clock;
use shared_core::db::DbPool;
use shared_core::token_digest;

use super::AdminError;
use crate::db::token_admin::{self, TokenKind};
use crate::service::revocation;

/// What `token revoke` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokedToken {
    /// `access_token` or `refresh_token` (with the access tokens issued with it).
    pub kind: &'static str,
    pub client_id: String,
    /// `false`: it had been revoked before (by itself, or an access token with its refresh token).
    pub was_live: bool,
}

/// Revokes the access or refresh token `token` (opaque or JWT: both are stored by digest) and appends the
/// access tokens that ended to the revocation log. `NoSuchToken` when this server does not know it
/// (never issued here, or expired and swept by the janitor).
pub async fn revoke_token(pool: &DbPool, token: &str) -> Result<RevokedToken, AdminError> {
    let hash = token_digest(token);
    let now = clock::now();
    pool.write(move |c| -> Result<RevokedToken, AdminError> {
        let owner = token_admin::find_owner(c, &hash)?.ok_or(AdminError::NoSuchToken)?;
        let refresh_first = owner.kind == TokenKind::Refresh;
        revocation::end_token(c, &hash, owner.client_pk, refresh_first, now)?;
        let kind = match owner.kind {
            TokenKind::Access => revocation::ACCESS_TOKEN,
            TokenKind::Refresh => revocation::REFRESH_TOKEN,
        };
        Ok(RevokedToken { kind, client_id: owner.client_id, was_live: !owner.revoked })
    })
    .await
}
