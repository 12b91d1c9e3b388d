//! Error reports for logs: an error and every cause under it on one line, written once, where the error
//! becomes a response (zero2prod's `error_chain_fmt`).

use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Displays `error: cause: deeper cause`.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// At most one log line per `every` for an event that can repeat thousands of times a second (503s while
/// the database is down); the lines held back are counted and the count goes with the next line.
pub struct Throttle {
    every_ms: u64,
    next_ms: AtomicU64,
    held_back: AtomicU64,
}

impl Throttle {
    pub const fn new(every: Duration) -> Self {
        Self { every_ms: every.as_millis() as u64, next_ms: AtomicU64::new(0), held_back: AtomicU64::new(0) }
    }

    /// `Some(lines held back since the last one)` when a line may be written now.
    pub fn admit(&self) -> Option<u64> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let next = self.next_ms.load(Ordering::Relaxed);
        if now >= next
            && self.next_ms.compare_exchange(next, now + self.every_ms, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            return Some(self.held_back.swap(0, Ordering::Relaxed));
        }
        self.held_back.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_throttle_admits_one_line_per_period_and_counts_the_rest() {
        let throttle = Throttle::new(Duration::from_secs(3600));
        assert_eq!(throttle.admit(), Some(0));
        assert_eq!(throttle.admit(), None);
        assert_eq!(throttle.admit(), None);
        let always = Throttle::new(Duration::ZERO);
        assert_eq!(always.admit(), Some(0));
        assert_eq!(always.admit(), Some(0));
    }

    #[test]
    fn every_cause_is_printed_once_in_order() {
        let error = Outer(std::io::Error::other("inner"));
        assert_eq!(Chain(&error).to_string(), "outer: inner");
    }
}
