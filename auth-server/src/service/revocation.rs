//! RFC 7009 token revocation. A client revokes only its own tokens; any other token, known or not, gets the
//! same 200 so that a client cannot probe for tokens it does not hold.

use shared_core::db::DbConn;
use shared_core::revocation::RevocationEvent;
use shared_core::token_digest;

use super::client_auth::ClientCredentials;
use super::revocation_events;
use crate::audit::{self, Event};
use crate::db::{self, clients, tokens};
use crate::error::Error;
use crate::state::AppState;

/// Revokes `token` if it is one of the client's own (RFC 7009 §2.1), at time `now`; `hint` only decides
/// which table is looked at first.
pub async fn revoke(
    state: &AppState,
    credentials: ClientCredentials,
    token: String,
    hint: Option<String>,
    now: i64,
) -> Result<(), Error> {
    let client_id = credentials.client_id.clone();
    let row = db::read(&state.pool, move |c| Ok(clients::find_by_client_id(c, &client_id)?)).await?;
    let client = state.clients.authenticate(&state.hasher, &credentials, row).await?;
    let hash = token_digest(&token);
    let refresh_first = hint.as_deref() == Some("refresh_token");
    let client_id = client.client_id.clone();
    let ended_kind = db::write(&state.pool, move |c| Ok(end_token(c, &hash, client.pk, refresh_first, now)?)).await?;
    state.revocations.wake();
    if let Some(kind) = ended_kind {
        audit::emit(Event::TokenRevoked { client_id: &client_id, kind });
    }
    Ok(())
}

pub const ACCESS_TOKEN: &str = "access_token";
pub const REFRESH_TOKEN: &str = "refresh_token";

/// Revokes the token with digest `hash` if it belongs to `client_pk`, looking among refresh tokens first
/// when `refresh_first`, and appends what ended to the revocation log, in the caller's transaction.
/// Returns what it ended: [`ACCESS_TOKEN`], [`REFRESH_TOKEN`] (with the access tokens issued with it), or
/// `None` when the client has no such live token. The admin CLI's `token revoke` runs it too.
pub fn end_token(
    c: &mut DbConn,
    hash: &str,
    client_pk: i64,
    refresh_first: bool,
    now: i64,
) -> diesel::QueryResult<Option<&'static str>> {
    // The access tokens that ended, for the resource servers (a refresh token is never theirs to check).
    let revoke_refresh = |c: &mut DbConn| -> diesel::QueryResult<Option<Vec<String>>> {
        match tokens::revoke_refresh(c, hash, client_pk, now)? {
            // Revoking a refresh token also revokes the access tokens issued with it.
            Some(id) => Ok(Some(tokens::revoke_access_of_refresh(c, id, now)?)),
            None => Ok(None),
        }
    };
    let revoke_access = |c: &mut DbConn| -> diesel::QueryResult<Option<Vec<String>>> {
        Ok(tokens::revoke_access(c, hash, client_pk, now)?.then(|| vec![hash.to_owned()]))
    };
    let (kind, ended) = if refresh_first {
        match revoke_refresh(c)? {
            Some(ended) => (Some(REFRESH_TOKEN), ended),
            None => revoke_access(c)?.map_or((None, vec![]), |ended| (Some(ACCESS_TOKEN), ended)),
        }
    } else {
        match revoke_access(c)? {
            Some(ended) => (Some(ACCESS_TOKEN), ended),
            None => revoke_refresh(c)?.map_or((None, vec![]), |ended| (Some(REFRESH_TOKEN), ended)),
        }
    };
    revocation_events::record(c, RevocationEvent::Tokens { digests: ended }, now)?;
    Ok(kind)
}
