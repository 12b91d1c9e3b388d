//! RFC 7009 token revocation. A client revokes only its own tokens; any other token, known or not, gets the
//! same 200 so that a client cannot probe for tokens it does not hold.

use shared_core::db::write_transaction;
use shared_core::token_digest;

use super::client_auth::ClientCredentials;
use super::now;
use crate::db::{self, clients, tokens};
use crate::error::Error;
use crate::state::AppState;

pub async fn revoke(
    state: &AppState,
    credentials: ClientCredentials,
    token: String,
    hint: Option<String>,
) -> Result<(), Error> {
    let client_id = credentials.client_id.clone();
    let row = db::run(&state.pool, move |c| Ok(clients::find_by_client_id(c, &client_id)?)).await?;
    let client = state.clients.authenticate(&state.hasher, &credentials, row).await?;
    let hash = token_digest(&token);
    let refresh_first = hint.as_deref() == Some("refresh_token");
    db::write(&state.pool, move |c| {
        write_transaction(c, |c| -> Result<(), Error> {
            let at = now();
            let revoke_refresh = |c: &mut _| -> Result<bool, Error> {
                match tokens::revoke_refresh(c, &hash, client.pk, at)? {
                    // Revoking a refresh token also revokes the access tokens issued with it.
                    Some(id) => tokens::revoke_access_of_refresh(c, id, at).map(|_| true).map_err(Error::from),
                    None => Ok(false),
                }
            };
            if refresh_first {
                if !revoke_refresh(c)? {
                    tokens::revoke_access(c, &hash, client.pk, at)?;
                }
            } else if !tokens::revoke_access(c, &hash, client.pk, at)? {
                revoke_refresh(c)?;
            }
            Ok(())
        })
    })
    .await
}
