//! SQLite's single writer as one thread. SQLite admits one writer at a time; when writers take turns on a
//! lock, every hand-over costs a wake-up of the next thread (tens of microseconds on a VM, longer than the
//! insert itself). One thread with its own connection runs queued writes back to back instead, and the
//! async side only awaits the answer. Writes run in arrival order.
//!
//! Writes that queued up while another was running are committed together (group commit): one
//! transaction, each write in its own savepoint (a write that returns an error rolls back alone, whether
//! or not it had company), and the answers sent only once the transaction is committed. A commit appends every page it dirtied to the WAL; a
//! token insert dirties the table and five index pages, mostly the same ones as the next insert's.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use std::sync::Arc;

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use tokio::sync::{mpsc, oneshot};

use super::{BlockingError, DbConn};

/// The transaction manager of [`DbConn`]: it opens a transaction, or a savepoint inside one.
type Transactions = <DbConn as Connection>::TransactionManager;

/// A queued write, run with the writer's connection; `None` when its caller had gone and it did nothing.
type Job = Box<dyn FnOnce(&mut DbConn) -> Option<Done> + Send>;

/// A write that ran: whether it succeeded, and how to answer its caller once the commit is known
/// (`Some(error)`: the commit failed).
struct Done {
    succeeded: bool,
    answer: Box<dyn FnOnce(Option<BlockingError>) + Send>,
}

/// How many writes may wait; beyond that, callers wait (asynchronously) for room.
const QUEUE: usize = 1024;
/// The most writes one commit takes.
const MAX_BATCH: usize = 64;

pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
    /// A write that waited longer than this fails as unavailable, like a pool checkout that timed out.
    max_wait: Duration,
}

impl Writer {
    /// Starts the thread on `conn`; it ends when the last handle to the writer is dropped.
    pub(crate) fn start(mut conn: DbConn, max_wait: Duration) -> std::io::Result<Self> {
        let (jobs, mut queue) = mpsc::channel::<Job>(QUEUE);
        thread::Builder::new().name("sqlite-writer".into()).spawn(move || {
            while let Some(first) = queue.blocking_recv() {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                run_batch(&mut conn, batch);
            }
        })?;
        Ok(Self { jobs, max_wait })
    }

    pub(crate) async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<BlockingError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let queued_at = Instant::now();
        let max_wait = self.max_wait;
        let job: Job = Box::new(move |conn| {
            // The request went away while queued (its client disconnected): nothing is written for it, so
            // a client that gave up on a refresh can retry with the same refresh token.
            if reply.is_closed() {
                return None;
            }
            let result =
                if queued_at.elapsed() <= max_wait { work(conn) } else { Err(BlockingError::Busy(max_wait).into()) };
            let succeeded = result.is_ok();
            let answer = Box::new(move |commit_failed: Option<BlockingError>| {
                let result = match commit_failed {
                    Some(error) if succeeded => Err(error.into()),
                    _ => result,
                };
                let _ = reply.send(result);
            });
            Some(Done { succeeded, answer })
        });
        self.jobs.send(job).await.map_err(|_| BlockingError::WriterStopped)?;
        // Closed without an answer: the write panicked, or no savepoint could isolate it.
        answer.await.map_err(|_| BlockingError::WriterDropped)?
    }
}

/// Runs `batch` in one transaction.
fn run_batch(conn: &mut DbConn, batch: Vec<Job>) {
    if begin(conn).is_err() {
        // The connection cannot start a transaction (SQLite fails the next statement the same way): run the
        // writes as they are, so that they fail, or succeed, each with its own error.
        for job in batch {
            // A panicking write (its transaction is rolled back by diesel's `transaction`) fails only its
            // own request: the caller sees the answer channel closed.
            if let Ok(Some(done)) = catch_unwind(AssertUnwindSafe(|| job(conn))) {
                (done.answer)(None);
            }
        }
        return;
    }
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        if savepoint(conn).is_err() {
            // Not isolated from the others: let it fail alone rather than run unprotected.
            drop(job);
            continue;
        }
        match catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok(Some(done)) => {
                let kept = done.succeeded && release(conn).is_ok();
                if !kept {
                    roll_back(conn);
                }
                answers.push(done.answer);
            }
            Ok(None) | Err(_) => roll_back(conn),
        }
    }
    let failure = Transactions::commit_transaction(conn).err().map(|error| {
        roll_back(conn);
        Arc::new(error)
    });
    for answer in answers {
        answer(failure.clone().map(BlockingError::CommitFailed));
    }
}

/// `BEGIN IMMEDIATE` takes SQLite's write lock at once, so that a writer in another process (the admin CLI)
/// queues on the busy timeout instead of failing when a read lock cannot be upgraded. SQLite-only SQL; the
/// writer only ever holds a SQLite connection.
fn begin(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Postgres(_) => Transactions::begin_transaction(conn),
    }
}

/// Inside the batch's transaction, `begin_transaction` opens a savepoint.
fn savepoint(conn: &mut DbConn) -> diesel::QueryResult<()> {
    Transactions::begin_transaction(conn)
}

fn release(conn: &mut DbConn) -> diesel::QueryResult<()> {
    Transactions::commit_transaction(conn)
}

fn roll_back(conn: &mut DbConn) {
    // A failed rollback leaves the connection's transaction state broken; the next `begin` fails and the
    // writes of that batch fail with it, each with its own error.
    let _ = Transactions::rollback_transaction(conn);
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::mpsc as std_mpsc;
    use std::task::Poll;

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::db::{ConnectionManager, DatabaseUrl};

    #[derive(Debug)]
    struct Failed(String);

    impl From<BlockingError> for Failed {
        fn from(error: BlockingError) -> Self {
            Self(error.to_string())
        }
    }

    impl From<diesel::result::Error> for Failed {
        fn from(error: diesel::result::Error) -> Self {
            Self(error.to_string())
        }
    }

    /// A writer on a fresh SQLite file holding a table `t (n)`; the file goes with the returned folder.
    fn writer(max_wait: Duration) -> (Writer, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/w.sqlite3", dir.path().display());
        let mut conn = ConnectionManager::new(DatabaseUrl::parse(&url).unwrap()).connect().unwrap();
        conn.batch_execute("CREATE TABLE t (n INTEGER NOT NULL)").unwrap();
        (Writer::start(conn, max_wait).unwrap(), dir)
    }

    fn insert(n: i64) -> impl FnOnce(&mut DbConn) -> Result<(), Failed> + Send + 'static {
        move |conn| Ok(conn.batch_execute(&format!("INSERT INTO t (n) VALUES ({n})"))?)
    }

    fn rows(conn: &mut DbConn) -> Result<Vec<i64>, Failed> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let rows: Vec<Row> = diesel::sql_query("SELECT n FROM t ORDER BY rowid").load(conn)?;
        Ok(rows.into_iter().map(|row| row.n).collect())
    }

    /// Polls `future` once: `Some` if that finished it.
    async fn poll_once<F: Future + Unpin>(mut future: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| match Pin::new(&mut future).poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending => Poll::Ready(None),
        })
        .await
    }

    fn failing_insert(n: i64) -> impl FnOnce(&mut DbConn) -> Result<(), Failed> + Send + 'static {
        move |conn| {
            insert(n)(conn)?;
            Err(Failed("refused after writing".into()))
        }
    }

    #[tokio::test]
    async fn a_failed_write_leaves_nothing_behind_even_alone() {
        let (writer, _dir) = writer(Duration::from_secs(5));
        assert_eq!(writer.run(failing_insert(1)).await.unwrap_err().0, "refused after writing");
        writer.run(insert(2)).await.unwrap();
        assert_eq!(writer.run(rows).await.unwrap(), vec![2]);
    }

    /// Queues a write that holds the writer until `release` is sent to; await `blocked` after that.
    async fn hold(writer: &Writer) -> (std_mpsc::Sender<()>, Pin<Box<impl Future<Output = Result<(), Failed>> + '_>>) {
        let (release, wait) = std_mpsc::channel::<()>();
        let mut blocked = Box::pin(writer.run(move |_conn| -> Result<(), Failed> {
            wait.recv().unwrap();
            Ok(())
        }));
        assert!(poll_once(blocked.as_mut()).await.is_none(), "queued, and waiting for its release");
        (release, blocked)
    }

    #[tokio::test]
    async fn writes_run_in_order_and_answer() {
        let (writer, _dir) = writer(Duration::from_secs(5));
        for n in 1..=5 {
            writer.run(insert(n)).await.unwrap();
        }
        assert_eq!(writer.run(rows).await.unwrap(), vec![1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_panicking_write_fails_alone() {
        let (writer, _dir) = writer(Duration::from_secs(5));
        let failed = writer.run(|_conn| -> Result<(), Failed> { panic!("a bug in one write") }).await;
        assert!(failed.unwrap_err().0.contains("panicked"));
        writer.run(insert(7)).await.unwrap();
        assert_eq!(writer.run(rows).await.unwrap(), vec![7]);
    }

    #[tokio::test]
    async fn a_write_whose_caller_left_is_skipped() {
        let (writer, _dir) = writer(Duration::from_secs(5));
        // The writer is held, so the next write is still queued when dropped.
        let (release, blocked) = hold(&writer).await;
        let mut abandoned = Box::pin(writer.run(insert(1)));
        assert!(poll_once(abandoned.as_mut()).await.is_none(), "queued behind the blocked write");
        drop(abandoned); // as actix drops a handler whose client disconnected
        release.send(()).unwrap();
        blocked.await.unwrap();
        writer.run(insert(2)).await.unwrap();
        assert_eq!(writer.run(rows).await.unwrap(), vec![2], "the abandoned write did not run");
    }

    #[tokio::test]
    async fn a_write_that_waited_too_long_is_refused_as_busy() {
        let (writer, _dir) = writer(Duration::ZERO);
        let refused = writer.run(insert(1)).await.unwrap_err();
        assert!(refused.0.contains("busy"), "{}", refused.0);
        assert!(BlockingError::Busy(Duration::ZERO).is_unavailable());
    }

    #[tokio::test]
    async fn queued_writes_commit_together_and_a_failed_one_rolls_back_alone() {
        let (writer, _dir) = writer(Duration::from_secs(5));
        let (release, blocked) = hold(&writer).await;
        // Queued while the writer is held, these three run as one batch.
        let plain = writer.run(insert(1));
        let failing = writer.run(failing_insert(2));
        let nested = writer.run(|conn| conn.transaction(|conn| insert(3)(conn)));
        let (mut plain, mut failing, mut nested) = (Box::pin(plain), Box::pin(failing), Box::pin(nested));
        assert!(poll_once(plain.as_mut()).await.is_none());
        assert!(poll_once(failing.as_mut()).await.is_none());
        assert!(poll_once(nested.as_mut()).await.is_none());
        release.send(()).unwrap();
        blocked.await.unwrap();
        plain.await.unwrap();
        assert_eq!(failing.await.unwrap_err().0, "refused after writing");
        nested.await.unwrap();
        assert_eq!(writer.run(rows).await.unwrap(), vec![1, 3], "the failed write's row was rolled back");
    }
}
