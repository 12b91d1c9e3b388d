//! Deletes dead token rows in batches so the token tables do not grow without bound.

use std::time::Duration;

use crate::db::{self, tokens};
use crate::settings::JanitorSettings;
use shared_core::db::DbPool;

/// One sweep: deletes expired or revoked access tokens and expired refresh tokens, `batch` rows per
/// statement so that no sweep holds a long write lock. Returns how many rows went.
pub async fn sweep(pool: &DbPool, batch: i64) -> Result<usize, crate::error::Error> {
    let mut total = 0;
    loop {
        let now = shared_core::clock::now();
        let deleted = db::write(pool, move |c| {
            Ok(tokens::delete_dead_access_tokens(c, now, batch)?
                + tokens::delete_expired_refresh_tokens(c, now, batch)?)
        })
        .await?;
        total += deleted;
        if deleted == 0 {
            return Ok(total);
        }
    }
}

/// Runs [`sweep`] every `interval_secs` until the task is aborted.
pub async fn run(pool: DbPool, settings: JanitorSettings) {
    let mut ticker = tokio::time::interval(Duration::from_secs(settings.interval_secs.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match sweep(&pool, settings.batch_size.max(1)).await {
            Ok(0) => {}
            Ok(n) => log::info!("janitor deleted {n} dead token rows"),
            Err(e) => log::warn!("janitor sweep failed: {e}"),
        }
    }
}
