//! bcrypt on its own bounded pool of threads. bcrypt is slow by design; running it on dedicated threads with
//! a bounded queue means a flood of password logins queues (or gets 503) instead of taking the blocking
//! pool that every database query needs, so introspection keeps answering under a password flood.

use std::sync::Arc;
use std::thread;

use crossbeam_channel::{bounded, Sender, TrySendError};
use tokio::sync::oneshot;

use crate::error::Error;

enum Job {
    Hash { password: String, cost: u32, reply: oneshot::Sender<Result<String, bcrypt::BcryptError>> },
    Verify { password: String, hash: String, reply: oneshot::Sender<bool> },
}

pub struct PasswordHasher {
    jobs: Sender<Job>,
    cost: u32,
    /// A real hash of a random password, verified against when a user or client is unknown so that the
    /// answer takes as long as for a known one.
    dummy_hash: Arc<str>,
}

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
    /// Starts `threads` workers (0 = one per CPU) behind a queue of `queue` waiting jobs.
    pub fn start(threads: usize, queue: usize, cost: u32) -> Result<Self, StartError> {
        let threads = if threads == 0 { thread::available_parallelism().map_or(2, |n| n.get()) } else { threads };
        let (jobs, receiver) = bounded::<Job>(queue.max(1));
        for index in 0..threads {
            let receiver = receiver.clone();
            thread::Builder::new().name(format!("bcrypt-{index}")).spawn(move || {
                lower_priority();
                // Ends when the last sender (the hasher) is dropped.
                for job in receiver {
                    run(job);
                }
            })?;
        }
        let dummy_hash = bcrypt::hash(crate::service::tokens::random_token()?, cost)?.into();
        Ok(Self { jobs, cost, dummy_hash })
    }

    pub async fn hash(&self, password: String) -> Result<String, Error> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password, cost: self.cost, reply })?;
        Ok(answer.await.map_err(|_| Error::HasherStopped)??)
    }

    /// Verifies `password` against `hash`, or against the dummy hash when `hash` is `None` (and then
    /// answers `false`), so that an unknown account costs the same time as a known one.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Error> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify { password, hash, reply })?;
        let matched = answer.await.map_err(|_| Error::HasherStopped)?;
        Ok(known && matched)
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    fn submit(&self, job: Job) -> Result<(), Error> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => Error::HasherBusy,
            TrySendError::Disconnected(_) => Error::HasherStopped,
        })
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

fn run(job: Job) {
    // A request that went away while queued (its client disconnected or timed out) is not worth a
    // quarter-second of CPU: skip it so a flood drains as fast as its clients give up.
    match job {
        Job::Hash { reply, .. } if reply.is_closed() => {}
        Job::Verify { reply, .. } if reply.is_closed() => {}
        Job::Hash { password, cost, reply } => {
            let _ = reply.send(bcrypt::hash(password, cost));
        }
        Job::Verify { password, hash, reply } => {
            // A malformed stored hash verifies as false rather than failing the request.
            let _ = reply.send(bcrypt::verify(password, &hash).unwrap_or(false));
        }
    }
}
