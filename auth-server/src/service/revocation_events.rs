//! Revocation events for resource servers: every path that ends tokens appends an event to the log in the
//! same transaction ([`record`]), and `GET /o/revocations/` streams the log as Server-Sent Events.
//!
//! A stream reads the log when it is woken, and at least every `poll_ms` besides. Wakes come from this
//! process's own writes ([`RevocationFeed::wake`]) and, on PostgreSQL, from every instance's writes through
//! `LISTEN`/`NOTIFY` ([`listen`]); the poll covers what wakes nobody (the admin CLI on SQLite, a listener
//! reconnecting). The log, not the wake, is the truth: a lost wake delays an event by `poll_ms` at most.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use diesel::{Connection, RunQueryDsl};
use futures_util::Stream;
use shared_core::db::{DatabaseUrl, DbConn, DbPool};
use shared_core::report::Chain;
use shared_core::revocation::{RevocationEvent, READY, RESET};
use tokio::sync::{mpsc, watch};

use crate::db::{self, revocation_log};
use crate::error::Error;
use crate::settings::RevocationSettings;

/// Events read from the log per statement.
const BATCH: i64 = 500;

/// Appends `event` in the caller's transaction; a `Tokens` event without digests is not worth a row.
pub fn record(conn: &mut DbConn, event: RevocationEvent, now: i64) -> diesel::QueryResult<()> {
    if matches!(&event, RevocationEvent::Tokens { digests } if digests.is_empty()) {
        return Ok(());
    }
    revocation_log::append(conn, &event, now).map(drop)
}

/// Wakes this instance's streams when the log may hold something new.
pub struct RevocationFeed {
    wakes: watch::Sender<u64>,
    /// The server is stopping: streams end, so that the graceful stop need not wait for them.
    closing: AtomicBool,
    pub settings: RevocationSettings,
}

impl RevocationFeed {
    pub fn new(settings: RevocationSettings) -> Arc<Self> {
        Arc::new(Self { wakes: watch::Sender::new(0), closing: AtomicBool::new(false), settings })
    }

    /// Called after a write that may have appended an event has committed.
    pub fn wake(&self) {
        self.wakes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Ends every stream (their readers reconnect, to another instance behind a load balancer).
    pub fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.wake();
    }
}

/// Where a stream starts reading: after `after`; `reset` when the reader's place is no longer in the log.
#[derive(Debug, PartialEq, Eq)]
pub struct Start {
    pub after: i64,
    pub reset: bool,
}

/// Decides where a reader resuming after `last_event_id` (none: a new reader) starts.
pub async fn start(pool: &DbPool, last_event_id: Option<i64>) -> Result<Start, Error> {
    let bounds = db::read(pool, |c| Ok(revocation_log::bounds(c)?)).await?;
    Ok(start_at(bounds, last_event_id))
}

fn start_at(bounds: Option<(i64, i64)>, last_event_id: Option<i64>) -> Start {
    match (bounds, last_event_id) {
        // A new reader trusts nothing yet: only what comes from now on matters.
        (Some((_, newest)), None) => Start { after: newest, reset: false },
        (None, None) => Start { after: 0, reset: false },
        // Still in the log (the event after the reader's may have been pruned only if it never existed).
        (Some((oldest, newest)), Some(seen)) if seen + 1 >= oldest && seen <= newest => {
            Start { after: seen, reset: false }
        }
        // Pruned past the reader's place, or a place this log never had (another database).
        (Some((_, newest)), Some(_)) => Start { after: newest, reset: true },
        (None, Some(seen)) => Start { after: 0, reset: seen != 0 },
    }
}

/// The event stream for one reader, from `start`: a reset when due, the events it missed, `ready`, then
/// every new event as it is appended, with a comment every `heartbeat_secs` while there is none.
pub fn stream(pool: DbPool, feed: Arc<RevocationFeed>, start: Start) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let (sender, receiver) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let _open = crate::metrics::OpenStream::opened();
        if let Err(Stop::Failed(error)) = serve(&pool, &feed, start, &sender).await {
            // The stream ends; the reader stops trusting its cache and reconnects.
            log::warn!("revocation stream ended: {}", Chain(&error));
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (Ok(chunk), receiver))
    })
}

/// Why a stream stopped before its reader left.
enum Stop {
    /// The reader went away.
    Gone,
    /// The log could not be read.
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Self::Failed(error)
    }
}

async fn serve(pool: &DbPool, feed: &RevocationFeed, start: Start, out: &mpsc::Sender<Bytes>) -> Result<(), Stop> {
    let mut wakes = feed.wakes.subscribe();
    let poll = Duration::from_millis(feed.settings.poll_ms.max(10));
    let heartbeat = Duration::from_secs(feed.settings.heartbeat_secs.max(1));
    let mut after = start.after;
    if start.reset {
        send(out, format!("event: {RESET}\ndata: {{}}\n\n")).await?;
    }
    after = send_new(pool, after, out).await?;
    // With the reader's place in the log, even when no event was sent: a reader that has seen none must
    // still resume from here, not from wherever the log is when it reconnects.
    send(out, format!("id: {after}\nevent: {READY}\ndata: {{}}\n\n")).await?;
    let mut last_write = Instant::now();
    loop {
        tokio::select! {
            () = out.closed() => return Ok(()),
            woken = wakes.changed() => if woken.is_err() { return Ok(()) },
            () = tokio::time::sleep(poll) => {}
        }
        if feed.closing.load(Ordering::Acquire) {
            return Ok(());
        }
        let before = after;
        after = send_new(pool, after, out).await?;
        if after != before {
            last_write = Instant::now();
        } else if last_write.elapsed() >= heartbeat {
            send(out, ": keep-alive\n\n".to_owned()).await?;
            last_write = Instant::now();
        }
    }
}

/// Sends every event after `after`; returns the id of the last one sent.
async fn send_new(pool: &DbPool, mut after: i64, out: &mpsc::Sender<Bytes>) -> Result<i64, Stop> {
    loop {
        let events = db::read(pool, move |c| Ok(revocation_log::since(c, after, BATCH)?)).await?;
        let full = events.len() as i64 == BATCH;
        for (id, event) in events {
            send(out, event.to_sse(id)).await?;
            after = id;
        }
        if !full {
            return Ok(after);
        }
    }
}

async fn send(out: &mpsc::Sender<Bytes>, text: String) -> Result<(), Stop> {
    out.send(Bytes::from(text)).await.map_err(|_| Stop::Gone)
}

/// On PostgreSQL: a thread that `LISTEN`s on the log's channel and wakes this instance's streams when any
/// instance appends. It ends with the feed (when the server stops).
pub fn listen(url: &DatabaseUrl, feed: &Arc<RevocationFeed>) {
    let DatabaseUrl::Postgres(url) = url else { return };
    let (url, feed) = (url.clone(), Arc::downgrade(feed));
    let spawned =
        std::thread::Builder::new().name("revocation-listener".into()).spawn(move || listen_until_stopped(&url, &feed));
    if let Err(error) = spawned {
        log::warn!("revocation events: no listener thread ({error}); streams read the log every poll_ms");
    }
}

/// diesel reads notifications without blocking (libpq's `PQconsumeInput`, no socket to wait on), so the
/// listener looks every `LISTEN_POLL`: a system call on a local socket, not a query.
const LISTEN_POLL: Duration = Duration::from_millis(20);
/// A query now and then tells a silently cut connection from a quiet one.
const LISTEN_PING: Duration = Duration::from_secs(30);

fn listen_until_stopped(url: &str, feed: &Weak<RevocationFeed>) {
    let mut reported = false;
    while feed.strong_count() > 0 {
        let outcome = diesel::pg::PgConnection::establish(url)
            .map_err(|e| e.to_string())
            .and_then(|conn| listen_on(conn, feed, &mut reported).map_err(|e| e.to_string()));
        if let Err(error) = outcome {
            if !reported {
                log::warn!("revocation events: LISTEN failed ({error}); retrying, streams read the log every poll_ms");
                reported = true;
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn listen_on(
    mut conn: diesel::pg::PgConnection,
    feed: &Weak<RevocationFeed>,
    reported: &mut bool,
) -> diesel::QueryResult<()> {
    diesel::sql_query(format!("LISTEN {}", revocation_log::CHANNEL)).execute(&mut conn)?;
    if std::mem::take(reported) {
        log::info!("revocation events: listening again");
    }
    let mut pinged = Instant::now();
    // Whatever was appended while nobody listened is in the log: the streams read it now.
    let mut woken = true;
    loop {
        let Some(feed) = feed.upgrade() else { return Ok(()) };
        for notification in conn.notifications_iter() {
            notification?;
            woken = true;
        }
        if std::mem::take(&mut woken) {
            feed.wake();
        }
        drop(feed);
        if pinged.elapsed() >= LISTEN_PING {
            diesel::sql_query("SELECT 1").execute(&mut conn)?;
            pinged = Instant::now();
        }
        std::thread::sleep(LISTEN_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_resumes_where_it_was_or_starts_over_when_the_log_cannot_tell() {
        assert_eq!(start_at(Some((5, 9)), None), Start { after: 9, reset: false });
        assert_eq!(start_at(None, None), Start { after: 0, reset: false });
        assert_eq!(start_at(Some((5, 9)), Some(7)), Start { after: 7, reset: false });
        assert_eq!(start_at(Some((5, 9)), Some(4)), Start { after: 4, reset: false });
        assert_eq!(start_at(Some((5, 9)), Some(9)), Start { after: 9, reset: false });
        // Events 4..5 are gone: what it missed cannot be told.
        assert_eq!(start_at(Some((5, 9)), Some(3)), Start { after: 9, reset: true });
        assert_eq!(start_at(Some((5, 9)), Some(12)), Start { after: 9, reset: true });
        assert_eq!(start_at(None, Some(3)), Start { after: 0, reset: true });
        assert_eq!(start_at(None, Some(0)), Start { after: 0, reset: false });
    }
}
