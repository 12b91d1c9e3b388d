//! How far cached answers may be trusted, which depends on the revocation stream: with it live, a revocation
//! reaches the cache within a second, so an answer is good for `cache.ttl_secs`; without one, only for
//! `cache.ttl_without_stream_secs`. When a live stream is lost, every answer cached before the loss falls
//! due at once: revocations made meanwhile may never reach this server, so the outage must not extend trust.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::StreamStateMetrics;

/// The revocation stream's state, as `/health/ready` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    /// Not used: turned off, or the auth server has no stream.
    Off,
    /// Connecting or reconnecting; caught up with no event yet.
    Connecting,
    /// Connected and caught up: revocations arrive as they happen.
    Live,
}

impl StreamState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Connecting => "connecting",
            Self::Live => "live",
        }
    }
}

/// What a cached answer is good for now.
#[derive(Debug, Clone, Copy)]
pub enum Trust {
    /// The stream is live: until the entry's full TTL.
    Stream,
    /// No stream is used: until the short TTL.
    NoStream,
    /// The stream is down since this instant: entries cached before it are due, later ones get the short TTL.
    LostSince(Instant),
}

pub struct StreamTrust {
    state: AtomicU8,
    metrics: StreamStateMetrics,
    /// When the stream was last lost (or the server started), in nanoseconds after `epoch`.
    lost_at: AtomicU64,
    epoch: Instant,
}

impl StreamTrust {
    /// Starts `Connecting` when a stream is to be used (nothing is trusted long before it is live), else `Off`.
    pub fn new(stream: bool) -> Self {
        let state = if stream { StreamState::Connecting } else { StreamState::Off };
        let metrics = StreamStateMetrics::default();
        metrics.set(state);
        Self { state: AtomicU8::new(state as u8), metrics, lost_at: AtomicU64::new(0), epoch: Instant::now() }
    }

    pub fn state(&self) -> StreamState {
        match self.state.load(Ordering::Acquire) {
            x if x == StreamState::Live as u8 => StreamState::Live,
            x if x == StreamState::Off as u8 => StreamState::Off,
            _ => StreamState::Connecting,
        }
    }

    pub fn trust(&self) -> Trust {
        match self.state() {
            StreamState::Live => Trust::Stream,
            StreamState::Off => Trust::NoStream,
            StreamState::Connecting => {
                Trust::LostSince(self.epoch + Duration::from_nanos(self.lost_at.load(Ordering::Acquire)))
            }
        }
    }

    /// Caught up: from now on revocations arrive as they happen.
    pub fn live(&self) {
        self.state.store(StreamState::Live as u8, Ordering::Release);
        self.metrics.set(StreamState::Live);
    }

    /// The stream is gone (or never came): entries cached until now are due.
    pub fn lost(&self, now: Instant) {
        if self.state() == StreamState::Live {
            let since = u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX);
            // The time first: a reader that sees `Connecting` must see when it began.
            self.lost_at.store(since, Ordering::Release);
            self.metrics.losses.increment(1);
        }
        self.state.store(StreamState::Connecting as u8, Ordering::Release);
        self.metrics.set(StreamState::Connecting);
    }

    /// The auth server has no stream: the short TTL applies, as with none configured.
    pub fn off(&self) {
        self.state.store(StreamState::Off as u8, Ordering::Release);
        self.metrics.set(StreamState::Off);
    }
}
