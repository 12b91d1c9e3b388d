//! bcrypt on its own bounded pool of threads. bcrypt is slow by design; running it on dedicated threads with
//! a bounded queue means a flood of password logins queues (or gets 503) instead of taking the blocking
//! pool that every database query needs, so introspection keeps answering under a password flood.
//!
//! Every check is also a credential check of the request being answered, so it is counted against that
//! client's address first (`rate_limit`): bcrypt is never free to an anonymous caller. A check with nothing
//! to compare (an unknown user or client, a locked account) costs no bcrypt thread at all: it waits as
//! long as a real check takes right now, so its answer cannot be told apart by its timing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender, TrySendError};
use shared_core::rate_limit::IpRateLimiter;
use shared_core::report::Throttle;
use shared_core::request_context;
use tokio::sync::oneshot;

use crate::audit::{self, Event};
use crate::error::Error;
use crate::metrics::HasherMetrics;

enum Job {
    Hash { password: String, cost: u32, reply: oneshot::Sender<Result<String, bcrypt::BcryptError>> },
    Verify { password: String, hash: String, reply: oneshot::Sender<bool> },
}

pub struct PasswordHasher {
    /// Each job with the instant it was queued.
    jobs: Sender<(Instant, Job)>,
    threads: usize,
    cost: u32,
    /// How long one verification takes on a bcrypt thread (nanoseconds, a moving average): what a check
    /// with nothing to compare waits.
    typical_verify_ns: Arc<AtomicU64>,
    per_ip: IpRateLimiter,
    metrics: HasherMetrics,
}

/// Rate-limit refusals come in floods: one audit line a second, with the count of the others.
static RATE_LIMITED_AUDIT: Throttle = Throttle::new(Duration::from_secs(1));

/// Why the hasher could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start a bcrypt thread")]
    Thread(#[from] std::io::Error),
    #[error("cannot make the dummy hash")]
    DummyHash(#[from] bcrypt::BcryptError),
    #[error("cannot draw the dummy password")]
    Random(#[from] getrandom::Error),
}

impl PasswordHasher {
    /// Starts `threads` workers (0 = one per CPU) behind a queue of `queue` waiting jobs; `per_ip` limits
    /// the checks each client address may cause.
    pub fn start(threads: usize, queue: usize, cost: u32, per_ip: IpRateLimiter) -> Result<Self, StartError> {
        let threads = if threads == 0 { thread::available_parallelism().map_or(2, |n| n.get()) } else { threads };
        // The first estimate of a verification's time: one, measured now.
        let dummy_hash = bcrypt::hash(crate::service::tokens::random_token()?, cost)?;
        let started = Instant::now();
        let _ = bcrypt::verify("not the password", &dummy_hash);
        let typical_verify_ns = Arc::new(AtomicU64::new(nanos(started.elapsed())));
        let (jobs, receiver) = bounded::<(Instant, Job)>(queue.max(1));
        let metrics = HasherMetrics::default();
        for index in 0..threads {
            let (receiver, metrics) = (receiver.clone(), metrics.clone());
            let typical = typical_verify_ns.clone();
            thread::Builder::new().name(format!("bcrypt-{index}")).spawn(move || {
                lower_priority();
                // Ends when the last sender (the hasher) is dropped.
                for (queued, job) in &receiver {
                    metrics.wait.record(queued.elapsed());
                    metrics.queue_depth.set(receiver.len() as f64);
                    run(job, &typical);
                }
            })?;
        }
        Ok(Self { jobs, threads, cost, typical_verify_ns, per_ip, metrics })
    }

    pub async fn hash(&self, password: String) -> Result<String, Error> {
        self.admit()?;
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password, cost: self.cost, reply })?;
        Ok(answer.await.map_err(|_| Error::HasherStopped)??)
    }

    /// Verifies `password` against `hash`. Without a hash (an unknown account or client, a locked
    /// account) it answers `false` after as long as a real check would take now, using no bcrypt thread.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Error> {
        self.admit()?;
        let Some(hash) = hash else {
            drop(password);
            tokio::time::sleep(self.stand_in_wait()).await;
            return Ok(false);
        };
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify { password, hash, reply })?;
        answer.await.map_err(|_| Error::HasherStopped)
    }

    /// Counts a credential check against the address of the request being answered.
    fn admit(&self) -> Result<(), Error> {
        let ip = request_context::client_ip();
        self.per_ip.check(ip).map_err(|retry_after| {
            if let Some(held_back) = RATE_LIMITED_AUDIT.admit() {
                audit::emit(Event::RateLimited { limit: "credential_checks", held_back });
            }
            Error::TooManyAttempts { retry_after: retry_after.secs() }
        })
    }

    /// What a real verification would take now: its own time, plus the wait for a thread behind the jobs
    /// queued ahead of it.
    fn stand_in_wait(&self) -> Duration {
        let one = self.typical_verify_ns.load(Ordering::Relaxed);
        let queued = self.jobs.len() as u64;
        let rounds = 1 + queued / self.threads.max(1) as u64;
        Duration::from_nanos(one.saturating_mul(rounds))
    }

    /// Forgets the client addresses that have not been seen for a while (called every minute).
    pub fn forget_idle_addresses(&self) {
        self.per_ip.forget_idle();
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    fn submit(&self, job: Job) -> Result<(), Error> {
        self.jobs.try_send((Instant::now(), job)).map_err(|e| match e {
            TrySendError::Full(_) => Error::HasherBusy,
            TrySendError::Disconnected(_) => Error::HasherStopped,
        })?;
        self.metrics.queue_depth.set(self.jobs.len() as f64);
        Ok(())
    }
}

/// bcrypt threads yield to the HTTP workers under contention (nice 10) yet use every idle cycle, so a flood
/// of password logins cannot starve introspection or token validation.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn lower_priority() {
    // SAFETY: plain system calls on the calling thread; no memory is shared with them.
    let result = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10)
    };
    if result != 0 {
        log::warn!("could not lower the priority of a bcrypt thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn run(job: Job, typical_verify_ns: &AtomicU64) {
    // A request that went away while queued (its client disconnected or timed out) is not worth a
    // quarter-second of CPU: skip it so a flood drains as fast as its clients give up.
    match job {
        Job::Hash { reply, .. } if reply.is_closed() => {}
        Job::Verify { reply, .. } if reply.is_closed() => {}
        Job::Hash { password, cost, reply } => {
            let _ = reply.send(bcrypt::hash(password, cost));
        }
        Job::Verify { password, hash, reply } => {
            let started = Instant::now();
            // A malformed stored hash verifies as false rather than failing the request.
            let matched = bcrypt::verify(password, &hash).unwrap_or(false);
            // A moving average over about the last eight verifications.
            let took = nanos(started.elapsed());
            let before = typical_verify_ns.load(Ordering::Relaxed);
            typical_verify_ns.store(before - before / 8 + took / 8, Ordering::Relaxed);
            let _ = reply.send(matched);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_check_with_nothing_to_compare_waits_like_a_real_one_and_says_no() {
        let hasher = PasswordHasher::start(1, 1, 4, IpRateLimiter::disabled()).unwrap();
        let typical = Duration::from_nanos(hasher.typical_verify_ns.load(Ordering::Relaxed));
        assert!(typical > Duration::ZERO, "measured at start");
        let started = Instant::now();
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
        assert!(started.elapsed() >= typical, "{:?} < {typical:?}", started.elapsed());
        let hash = hasher.hash("right".into()).await.unwrap();
        assert!(hasher.verify("right".into(), Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify("wrong".into(), Some(hash)).await.unwrap());
    }
}
