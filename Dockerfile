# syntax=docker/dockerfile:1
# Both servers in one image; pick one with the command (`auth-server`, the default, or `resource-server`).
# Build: docker build -t oauth-demo .      Run: see docker-compose.yml.

# ---- builder ---------------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src

# Dependency layer: the manifests with stub sources (docker/cargo-stubs.sh), so that editing the code does not
# rebuild every dependency. The stubs are removed again; the real sources replace them below.
COPY Cargo.toml Cargo.lock ./
COPY shared-core/Cargo.toml shared-core/
COPY auth-server/Cargo.toml auth-server/
COPY resource-server/Cargo.toml resource-server/
COPY docker/cargo-stubs.sh docker/
RUN sh docker/cargo-stubs.sh shared-core auth-server resource-server > stubs.txt \
    && cargo build --release --locked --bin auth-server --bin resource-server \
    && xargs rm -f < stubs.txt && rm stubs.txt

# The real sources. Touch them so cargo sees them as newer than the stub build above.
COPY shared-core shared-core
COPY auth-server auth-server
COPY resource-server resource-server
COPY migrations migrations
RUN find shared-core auth-server resource-server -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --bin auth-server --bin resource-server

# ---- runtime ---------------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# libpq5: diesel's PostgreSQL backend. ca-certificates: rustls for an https auth server. curl: HEALTHCHECK.
# (SQLite is bundled into the binaries.)
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
COPY --from=builder /src/target/release/auth-server /src/target/release/resource-server /usr/local/bin/

WORKDIR /app
RUN mkdir -p /app/data && chown -R app:app /app
USER app
VOLUME ["/app/data"]

# Listen on every interface inside the container; SQLite files (the default backend) go to /app/data.
ENV AUTH_SERVER__HTTP__HOST=0.0.0.0 \
    RESOURCE_SERVER__HTTP__HOST=0.0.0.0 \
    RUST_LOG=info
EXPOSE 8000 8001

# Whichever server runs answers on its own port; the other port refuses, hence the `||`.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=5 \
    CMD curl -fsS http://127.0.0.1:8000/health/ready || curl -fsS http://127.0.0.1:8001/health/ready || exit 1

CMD ["auth-server"]
