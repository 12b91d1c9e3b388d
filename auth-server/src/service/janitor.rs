//! Deletes dead rows in batches so that the token, code and session tables do not grow without bound.

use std::time::Duration;

use shared_core::db::DbPool;

use crate::db::{self, codes, revocation_log, sessions, tokens};
use crate::settings::{JanitorSettings, TokenSettings};

/// One sweep: deletes expired or revoked access tokens, expired refresh tokens, expired sessions, and
/// authorization codes once nothing issued from them can still be alive (until then a used code is kept, so
/// that its second use is recognised and revokes what it issued), and revocation events older than
/// `events_kept_for`. `batch` rows per statement, so that no sweep holds a long write lock. Returns how many
/// rows went.
pub async fn sweep(
    pool: &DbPool,
    batch: i64,
    tokens_live_for: i64,
    events_kept_for: i64,
) -> Result<usize, crate::error::Error> {
    let mut total = 0;
    loop {
        let now = shared_core::clock::now();
        let deleted = db::write(pool, move |c| {
            Ok(tokens::delete_dead_access_tokens(c, now, batch)?
                + tokens::delete_expired_refresh_tokens(c, now, batch)?
                + sessions::delete_expired(c, now, batch)?
                + codes::delete_expired(c, now, tokens_live_for, batch)?
                + revocation_log::prune(c, now - events_kept_for, batch)?)
        })
        .await?;
        total += deleted;
        if deleted == 0 {
            return Ok(total);
        }
    }
}

/// Runs [`sweep`] every `interval_secs` until the task is aborted.
pub async fn run(pool: DbPool, settings: JanitorSettings, token_settings: TokenSettings, events_kept_for: i64) {
    let tokens_live_for = token_settings.access_token_lifetime_secs.max(token_settings.refresh_token_lifetime_secs);
    let mut ticker = tokio::time::interval(Duration::from_secs(settings.interval_secs.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match sweep(&pool, settings.batch_size.max(1), tokens_live_for, events_kept_for).await {
            Ok(0) => {}
            Ok(n) => log::info!("janitor deleted {n} dead rows"),
            Err(e) => log::warn!("janitor sweep failed: {e}"),
        }
    }
}
