//! Keeping dead connections out of use. A PostgreSQL restart, a failover or a proxy's idle timeout leaves
//! the pool holding connections whose server end is gone; r2d2 would hand them out again and again. Here:
//! a connection whose work failed is checked (one round trip, only on that error path) and dropped if it
//! is dead, which marks every other connection as suspect; a suspect or long-idle connection is checked
//! before it is handed out. While connecting fails, callers get "unavailable" at once instead of each
//! waiting the whole acquire timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::r2d2::R2D2Connection;

use super::conn::DbConn;
use crate::report::Chain;

/// How long after a failed connection attempt callers are refused at once, before one may try again.
const CONNECT_BACKOFF: Duration = Duration::from_secs(1);

/// Shared by the pool and its connection manager.
#[derive(Debug)]
pub(super) struct Health {
    /// Connections found dead so far.
    losses: AtomicU64,
    /// When a connection attempt last failed, in milliseconds since `started` (0: never).
    last_connect_failure_ms: AtomicU64,
    started: Instant,
    /// A connection unused for longer is checked before it is handed out (zero: never).
    idle_check: Duration,
}

impl Health {
    pub(super) fn new(idle_check: Duration) -> Self {
        Self {
            losses: AtomicU64::new(0),
            last_connect_failure_ms: AtomicU64::new(0),
            started: Instant::now(),
            idle_check,
        }
    }

    pub(super) fn losses(&self) -> u64 {
        self.losses.load(Ordering::Relaxed)
    }

    /// A connection attempt failed; the first failure after a success is logged, the rest are not (the
    /// pool retries every quarter of a second while the database is down).
    pub(super) fn record_connect_failure(&self, error: &(dyn std::error::Error + 'static)) {
        let now = u64::try_from(self.started.elapsed().as_millis().max(1)).unwrap_or(u64::MAX);
        if self.last_connect_failure_ms.swap(now, Ordering::Relaxed) == 0 {
            log::warn!("cannot connect to the database ({}); requests get 503 until it answers", Chain(error));
        }
    }

    pub(super) fn record_connect_success(&self) {
        if self.last_connect_failure_ms.swap(0, Ordering::Relaxed) != 0 {
            log::warn!("connected to the database again");
        }
    }

    /// Did connecting fail so recently that trying again now is pointless?
    pub(super) fn recently_unreachable(&self) -> bool {
        match self.last_connect_failure_ms.load(Ordering::Relaxed) {
            0 => false,
            failed_at => {
                let failed_at = Duration::from_millis(failed_at);
                self.started.elapsed().saturating_sub(failed_at) < CONNECT_BACKOFF
            }
        }
    }
}

/// A pooled connection and what the pool knows of its health.
pub struct PoolEntry {
    pub(super) conn: DbConn,
    last_used: Instant,
    /// The pool's loss count when this connection was last known to work.
    good_at_losses: u64,
    /// Found dead: r2d2 drops it instead of taking it back.
    lost: bool,
}

impl PoolEntry {
    pub(super) fn new(conn: DbConn, health: &Health) -> Self {
        Self { conn, last_used: Instant::now(), good_at_losses: health.losses(), lost: false }
    }

    pub(super) fn is_lost(&mut self) -> bool {
        self.lost || self.conn.is_broken()
    }

    /// Makes it ready for use: a connection that may have died since it last worked (another one was lost
    /// meanwhile, or it sat idle) is checked first. `false`: it is dead, and marked so.
    pub(super) fn check_out(&mut self, health: &Health) -> bool {
        let losses = health.losses();
        let idle = !health.idle_check.is_zero() && self.last_used.elapsed() > health.idle_check;
        if (self.good_at_losses < losses || idle) && self.conn.ping().is_err() {
            self.lost = true;
            return false;
        }
        self.good_at_losses = losses;
        self.last_used = Instant::now();
        true
    }

    /// After work that failed: was the connection lost? Checked with one round trip unless diesel knows
    /// already; a lost connection is marked, and makes every other connection suspect.
    pub(super) fn lost_after_error(&mut self, health: &Health) -> bool {
        if self.conn.is_broken() || self.conn.ping().is_err() {
            self.lost = true;
            health.losses.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }
}
