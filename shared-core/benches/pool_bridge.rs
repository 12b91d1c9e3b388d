//! The blocking-pool bridge against deadpool-diesel's `interact`, which does the same job (a pooled diesel
//! connection used on tokio's blocking threads) and would replace ours if it were as fast. 64 tasks on a
//! 2-worker runtime run `SELECT 1` through each for a few seconds, four connections either way; each
//! prints operations per second and the p50 / p99 of one operation. SQLite always, PostgreSQL when
//! TEST_POSTGRES_URL is set. `cargo bench -p shared-core --bench pool_bridge`; results in BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark that cannot run should stop")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Integer;
use shared_core::db::{build_pool, exec, BlockingError, DatabaseSettings, DbPool};

const TASKS: usize = 64;
const POOL: usize = 4;
const DURATION: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Failed;

impl From<BlockingError> for Failed {
    fn from(_: BlockingError) -> Self {
        Failed
    }
}

impl From<diesel::result::Error> for Failed {
    fn from(_: diesel::result::Error) -> Self {
        Failed
    }
}

/// Runs `op` from `TASKS` tasks until `DURATION` is over; returns every operation's latency.
async fn drive<F, Fut>(op: F) -> Vec<Duration>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let end = Instant::now() + DURATION;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < end {
                    let started = Instant::now();
                    op().await;
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

fn report(label: &str, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{label:<42} {:>9.0} ops/s  p50 {:>7.3} ms  p99 {:>7.3} ms",
        latencies.len() as f64 / DURATION.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );
}

async fn ours(url: &str, label: &str) {
    let settings =
        DatabaseSettings { url: url.into(), pool_size: POOL as u32, acquire_timeout_ms: 5_000, idle_check_secs: 30 };
    let pool: DbPool = build_pool(&settings).unwrap();
    let latencies = drive(move || {
        let pool = pool.clone();
        async move {
            let one: i32 = pool
                .read(|c| -> Result<i32, Failed> { Ok(exec::get_result(c, diesel::select(1.into_sql::<Integer>()))?) })
                .await
                .unwrap();
            assert_eq!(one, 1);
        }
    })
    .await;
    report(&format!("{label}: DbPool::read"), latencies);
}

/// deadpool-diesel's recycling: its default runs `SELECT 1` on every checkout (`Verified`); `light` checks
/// only for a dangling transaction, as close as it gets to ours (it still crosses to a blocking thread).
fn recycling<C>(light: bool) -> deadpool_diesel::ManagerConfig<C> {
    let recycling_method = if light {
        deadpool_diesel::RecyclingMethod::CustomFunction(Box::new(|_| Ok(())))
    } else {
        deadpool_diesel::RecyclingMethod::Verified
    };
    deadpool_diesel::ManagerConfig { recycling_method }
}

fn deadpool_label(backend: &str, light: bool) -> String {
    let recycle = if light { "no check" } else { "Verified" };
    format!("{backend}: deadpool interact ({recycle})")
}

async fn deadpool_sqlite(path: &str, light: bool) {
    use deadpool_diesel::sqlite::{Manager, Pool, Runtime};
    let manager = Manager::from_config(path, Runtime::Tokio1, recycling(light));
    let pool = Pool::builder(manager).max_size(POOL).build().unwrap();
    let latencies = drive(move || {
        let pool = pool.clone();
        async move {
            let conn = pool.get().await.unwrap();
            let one: i32 =
                conn.interact(|c| diesel::select(1.into_sql::<Integer>()).get_result(c)).await.unwrap().unwrap();
            assert_eq!(one, 1);
        }
    })
    .await;
    report(&deadpool_label("sqlite", light), latencies);
}

async fn deadpool_postgres(url: &str, light: bool) {
    use deadpool_diesel::postgres::{Manager, Pool, Runtime};
    let manager = Manager::from_config(url, Runtime::Tokio1, recycling(light));
    let pool = Pool::builder(manager).max_size(POOL).build().unwrap();
    let latencies = drive(move || {
        let pool = pool.clone();
        async move {
            let conn = pool.get().await.unwrap();
            let one: i32 =
                conn.interact(|c| diesel::select(1.into_sql::<Integer>()).get_result(c)).await.unwrap().unwrap();
            assert_eq!(one, 1);
        }
    })
    .await;
    report(&deadpool_label("postgres", light), latencies);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bridge.sqlite3");
        // Once each, then again, so that neither runs only on a cold machine.
        for _ in 0..2 {
            ours(&format!("sqlite://{}", path.display()), "sqlite").await;
            deadpool_sqlite(&path.to_string_lossy(), false).await;
            deadpool_sqlite(&path.to_string_lossy(), true).await;
        }
        if let Ok(url) = std::env::var("TEST_POSTGRES_URL") {
            let url =
                if url.contains('?') { format!("{url}&sslmode=disable") } else { format!("{url}?sslmode=disable") };
            for _ in 0..2 {
                ours(&url, "postgres").await;
                deadpool_postgres(&url, false).await;
                deadpool_postgres(&url, true).await;
            }
        }
    });
}
