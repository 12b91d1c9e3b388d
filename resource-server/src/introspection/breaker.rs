//! A circuit breaker in front of the auth server: after `failure_threshold` failed introspections in a row
//! it opens, and for `open_for` nobody asks (unseen tokens get 503 at once, cached ones are served within
//! their grace); then one probe is let through (half-open): its success closes the circuit, its failure
//! opens it again. Each change of state is logged once, at WARN.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The probe is out; nobody else may ask until it is back.
    HalfOpen,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    state: Mutex<State>,
    failure_threshold: u32,
    open_for: Duration,
}

impl CircuitBreaker {
    pub fn new(failure_threshold: u32, open_for: Duration) -> Self {
        Self { state: Mutex::new(State::Closed { failures: 0 }), failure_threshold: failure_threshold.max(1), open_for }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written: every update is one assignment.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// May a caller ask the auth server at `now`? An open circuit past its time lets exactly one through.
    pub fn allows(&self, now: Instant) -> bool {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => true,
            State::Open { until } if now >= until => {
                *state = State::HalfOpen;
                log::warn!("introspection circuit half-open: probing the auth server");
                true
            }
            State::Open { .. } | State::HalfOpen => false,
        }
    }

    pub fn record_success(&self) {
        let mut state = self.lock();
        if !matches!(*state, State::Closed { .. }) {
            log::warn!("introspection circuit closed: the auth server answers again");
        }
        *state = State::Closed { failures: 0 };
    }

    /// A failed or timed-out introspection, finished at `now`.
    pub fn record_failure(&self, now: Instant) {
        let mut state = self.lock();
        let opens = match *state {
            State::Closed { failures } if failures + 1 >= self.failure_threshold => true,
            State::Closed { failures } => {
                *state = State::Closed { failures: failures + 1 };
                false
            }
            State::HalfOpen => true,
            // Answers to calls started before it opened change nothing.
            State::Open { .. } => false,
        };
        if opens {
            *state = State::Open { until: now + self.open_for };
            log::warn!(
                "introspection circuit open for {:?}: the auth server is failing; cached tokens are served within \
                 their grace, unseen ones get 503",
                self.open_for
            );
        }
    }

    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(5);

    #[test]
    fn it_opens_after_the_threshold_of_consecutive_failures_only() {
        let breaker = CircuitBreaker::new(3, OPEN_FOR);
        let t0 = Instant::now();
        breaker.record_failure(t0);
        breaker.record_failure(t0);
        breaker.record_success();
        breaker.record_failure(t0);
        breaker.record_failure(t0);
        assert_eq!(breaker.state(), BreakerState::Closed, "a success in between resets the count");
        breaker.record_failure(t0);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allows(t0 + OPEN_FOR - Duration::from_millis(1)));
    }

    #[test]
    fn once_open_one_probe_decides() {
        let breaker = CircuitBreaker::new(1, OPEN_FOR);
        let t0 = Instant::now();
        breaker.record_failure(t0);
        let later = t0 + OPEN_FOR;
        assert!(breaker.allows(later), "the probe");
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(!breaker.allows(later), "only one probe at a time");
        breaker.record_failure(later);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allows(later + OPEN_FOR - Duration::from_millis(1)));
        assert!(breaker.allows(later + OPEN_FOR));
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.allows(later + OPEN_FOR));
    }
}
