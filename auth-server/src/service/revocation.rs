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
    let ended_kind = db::write(&state.pool, move |c| -> Result<Option<&'static str>, Error> {
        // The access tokens that ended, for the resource servers (a refresh token is never theirs to check).
        let revoke_refresh = |c: &mut DbConn| -> Result<Option<Vec<String>>, Error> {
            match tokens::revoke_refresh(c, &hash, client.pk, now)? {
                // Revoking a refresh token also revokes the access tokens issued with it.
                Some(id) => Ok(Some(tokens::revoke_access_of_refresh(c, id, now)?)),
                None => Ok(None),
            }
        };
        let revoke_access = |c: &mut DbConn| -> Result<Option<Vec<String>>, Error> {
            Ok(tokens::revoke_access(c, &hash, client.pk, now)?.then(|| vec![hash.clone()]))
        };
        const ACCESS: &str = "access_token";
        const REFRESH: &str = "refresh_token";
        let (kind, ended) = if refresh_first {
            match revoke_refresh(c)? {
                Some(ended) => (Some(REFRESH), ended),
                None => revoke_access(c)?.map_or((None, vec![]), |ended| (Some(ACCESS), ended)),
            }
        } else {
            match revoke_access(c)? {
                Some(ended) => (Some(ACCESS), ended),
                None => revoke_refresh(c)?.map_or((None, vec![]), |ended| (Some(REFRESH), ended)),
            }
        };
        revocation_events::record(c, RevocationEvent::Tokens { digests: ended }, now)?;
        Ok(kind)
    })
    .await?;
    state.revocations.wake();
    if let Some(kind) = ended_kind {
        audit::emit(Event::TokenRevoked { client_id: &client_id, kind });
    }
    Ok(())
}
