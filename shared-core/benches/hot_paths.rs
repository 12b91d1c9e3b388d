//! Micro-benchmarks of the pure work on the hot paths: the token digest every bearer request computes, the
//! scope check, and price parsing / formatting on item reads and writes. `cargo bench -p shared-core`.

#![allow(clippy::unwrap_used, reason = "a benchmark with a bad input should stop")]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use shared_core::digest::{token_digest, token_digest_bytes};
use shared_core::oauth::{scope_string_contains, Scopes};
use shared_core::Price;

const TOKEN: &str = "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c";

fn digests(c: &mut Criterion) {
    c.bench_function("token_digest_bytes (cache key)", |b| b.iter(|| token_digest_bytes(black_box(TOKEN))));
    c.bench_function("token_digest hex (database key)", |b| b.iter(|| token_digest(black_box(TOKEN))));
}

fn scopes(c: &mut Criterion) {
    c.bench_function("scope_string_contains", |b| {
        b.iter(|| scope_string_contains(black_box("read write"), black_box("write")))
    });
    c.bench_function("Scopes::parse", |b| b.iter(|| Scopes::parse(black_box("read write introspection"))));
}

fn prices(c: &mut Criterion) {
    c.bench_function("Price parse", |b| b.iter(|| black_box("123456.78").parse::<Price>()));
    let price: Price = "123456.78".parse().unwrap();
    c.bench_function("Price to_string", |b| b.iter(|| black_box(price).to_string()));
}

criterion_group!(benches, digests, scopes, prices);
criterion_main!(benches);
