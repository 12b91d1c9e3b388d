//! SQLite's single writer as one thread. SQLite admits one writer at a time; when writers take turns on a
//! lock, every hand-over costs a wake-up of the next thread (tens of microseconds on a VM, longer than the
//! insert itself). One thread with its own connection runs queued writes back to back instead, and the
//! async side only awaits the answer. Writes run in arrival order.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::{BlockingError, DbConn};

/// A queued write, run with the writer's connection.
type Job = Box<dyn FnOnce(&mut DbConn) + Send>;

/// How many writes may wait; beyond that, callers wait (asynchronously) for room.
const QUEUE: usize = 1024;

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
            while let Some(job) = queue.blocking_recv() {
                // A panicking write (its transaction is rolled back by `write_transaction`) fails only its
                // own request: the caller sees the answer channel closed.
                let _ = catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
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
                return;
            }
            let result = if queued_at.elapsed() <= max_wait {
                work(conn)
            } else {
                Err(BlockingError::Busy(max_wait).into())
            };
            let _ = reply.send(result);
        });
        self.jobs.send(job).await.map_err(|_| BlockingError::Task("the SQLite writer stopped".into()))?;
        answer.await.map_err(|_| BlockingError::Task("the write failed (the SQLite writer panicked)".into()))?
    }
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
        crate::db_run!(&mut conn, c => c.batch_execute("CREATE TABLE t (n INTEGER NOT NULL)")).unwrap();
        (Writer::start(conn, max_wait).unwrap(), dir)
    }

    fn insert(n: i64) -> impl FnOnce(&mut DbConn) -> Result<(), Failed> + Send + 'static {
        move |conn| Ok(crate::db_run!(conn, c => c.batch_execute(&format!("INSERT INTO t (n) VALUES ({n})")))?)
    }

    fn rows(conn: &mut DbConn) -> Result<Vec<i64>, Failed> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let rows: Vec<Row> = crate::db_run!(conn, c => diesel::sql_query("SELECT n FROM t ORDER BY rowid").load(c))?;
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
        // A first write holds the writer until released, so the next one is still queued when dropped.
        let (release, wait) = std_mpsc::channel::<()>();
        let blocked = writer.run(move |_conn| -> Result<(), Failed> {
            wait.recv().unwrap();
            Ok(())
        });
        tokio::pin!(blocked);
        assert!(poll_once(blocked.as_mut()).await.is_none(), "queued, and waiting for its release");
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
}
