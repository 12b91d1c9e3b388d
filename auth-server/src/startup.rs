//! Building the application: pool, migrations, bootstrap clients, bcrypt workers, janitor and the HTTP
//! server bound to its listener. `main` and the integration tests both start the server through here.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use shared_core::api_doc::OpenApiDocument;
use shared_core::body::BodyTimeout;
use shared_core::client_ip::TrustedProxies;
use shared_core::db::{build_pool, DbPool};
use shared_core::request_context;

use crate::db;
use crate::routes;
use crate::routes::openapi::ApiDoc;
use crate::service::admin::{self, BootstrapOutcome};
use crate::service::janitor;
use crate::service::keys::{self, SigningKeys};
use crate::service::origins::AllowedOrigins;
use crate::service::revocation_events::{self, RevocationFeed};
use crate::settings::Settings;
use crate::state::{AppState, Metrics};

pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

pub struct Application {
    port: u16,
    server: Server,
    pool: DbPool,
    metrics: Arc<Metrics>,
    keys: Arc<SigningKeys>,
    /// `/metrics` on its own port (`metrics.listen`), stopped with the server.
    metrics_listener: Option<shared_core::metrics::PrivateListener>,
    /// The janitor and the signing keys' reloader, stopped with the server.
    background: Vec<tokio::task::JoinHandle<()>>,
}

/// Opens the pool, applies migrations and brings the configured clients up to date.
pub async fn prepare_database(settings: &Settings) -> Result<DbPool, StartupError> {
    let database = settings.database.clone();
    // Opening the pool's connections blocks.
    let pool = tokio::task::spawn_blocking(move || build_pool(&database)).await??;
    let applied = db::migrate(&pool).await?;
    if applied > 0 {
        log::info!("applied {applied} migration(s)");
    }
    // Resources first: a bootstrap client may be limited to some of them.
    for (label, resource) in &settings.resources {
        admin::bootstrap_resource(&pool, resource, &settings.scopes.available)
            .await
            .map_err(|e| format!("bootstrap resource {label:?}: {}", shared_core::report::Chain(&e)))?;
    }
    for (label, client) in &settings.clients {
        let outcome = admin::bootstrap_client(&pool, client, &settings.scopes.available, settings.security.bcrypt_cost)
            .await
            .map_err(|e| format!("bootstrap client {label:?}: {}", shared_core::report::Chain(&e)))?;
        if outcome != BootstrapOutcome::Unchanged {
            log::info!("bootstrap client {:?}: {outcome:?}", client.client_id);
        }
    }
    Ok(pool)
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // First: the pool and the hasher take their metric handles from the recorder.
        let (metrics_endpoint, metrics_listener) =
            shared_core::metrics::start(&settings.metrics, crate::metrics::describe)?;
        let pool = prepare_database(&settings).await?;
        let listener = TcpListener::bind((settings.http.host.as_str(), settings.http.port))?;
        let address = listener.local_addr()?;
        let keys = start_signing_keys(&settings, &pool).await?;
        let state =
            web::Data::new(AppState::new(&settings, pool.clone(), settings.issuer_for(address), keys.clone()).await?);
        let metrics = state.metrics.clone();
        revocation_events::listen(pool.url(), &state.revocations);
        let revocations = state.revocations.clone();
        state.origins.reload(&pool).await?;
        let (origins, reloaded_origins) = (state.origins.clone(), state.origins.clone());

        // Validated with the settings: this cannot fail here.
        let proxies = web::Data::new(TrustedProxies::parse(&settings.http.trusted_proxies).unwrap_or_default());
        let document = web::Data::new(OpenApiDocument::render::<ApiDoc>()?);
        let body_timeout = BodyTimeout(Duration::from_millis(settings.http.body_timeout_ms));
        let limiter_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(document.clone())
                .app_data(proxies.clone())
                .app_data(body_timeout)
                .wrap(routes::pages::security_headers())
                .wrap(metrics_endpoint.record_requests())
                .wrap(from_fn(shared_core::access_log::middleware))
                .wrap(from_fn(request_context::middleware))
                .configure(|cfg| metrics_endpoint.configure(cfg))
                .configure(|cfg| routes::configure(cfg, &origins))
        })
        .listen(listener)?
        // Signals are handled below: the revocation streams must end before a graceful stop can finish.
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
        if settings.http.workers > 0 {
            server = server.workers(settings.http.workers);
        }
        let mut background = vec![
            tokio::spawn(reload_registrations(keys.clone(), reloaded_origins, pool.clone())),
            tokio::spawn(forget_idle_addresses(limiter_state)),
        ];
        if settings.janitor.interval_secs > 0 {
            background.push(tokio::spawn(janitor::run(
                pool.clone(),
                settings.janitor.clone(),
                settings.tokens.clone(),
                settings.revocation.retention_secs,
            )));
        }
        log::info!("auth server listening on http://{address}");
        let server = server.run();
        background.push(tokio::spawn(stop_on_signal(server.handle(), revocations)));
        Ok(Self { port: address.port(), server, pool, metrics, keys, metrics_listener, background })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> DbPool {
        self.pool.clone()
    }

    /// The signing keys in use (tests reload them after a rotation instead of waiting for the timer).
    pub fn signing_keys(&self) -> Arc<SigningKeys> {
        self.keys.clone()
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The port `/metrics` is served on when `metrics.listen` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener.as_ref().map(|listener| listener.address.port())
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in self.background {
            task.abort();
        }
        if let Some(listener) = self.metrics_listener {
            listener.stop().await;
        }
        result
    }
}

/// SIGTERM or SIGINT: the revocation streams end (each would otherwise hold the graceful stop for its whole
/// grace, as a stream writes only now and then and so notices its reader gone only then), then the server
/// stops gracefully. SIGQUIT stops it at once.
async fn stop_on_signal(handle: actix_web::dev::ServerHandle, revocations: Arc<RevocationFeed>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut interrupt), Ok(mut quit)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::quit()))
    else {
        log::warn!("cannot listen for signals: stop the server with SIGKILL");
        return;
    };
    let graceful = tokio::select! {
        _ = terminate.recv() => true,
        _ = interrupt.recv() => true,
        _ = quit.recv() => false,
    };
    log::info!("stopping{}", if graceful { " gracefully" } else { "" });
    revocations.close();
    handle.stop(graceful).await;
}

/// Loads the OpenID Connect signing keys, creating the first one (or importing `oidc.signing_key_file`).
pub async fn start_signing_keys(settings: &Settings, pool: &DbPool) -> Result<Arc<SigningKeys>, StartupError> {
    let key_file = Some(settings.oidc.signing_key_file.as_str()).filter(|path| !path.is_empty());
    let published_for = settings.tokens.longest_signed_lifetime();
    Ok(SigningKeys::start(pool, key_file, published_for, shared_core::clock::now()).await?)
}

/// Picks up key rotations and clients' CORS origins changed by the CLI or another instance.
/// The rate limiter's table keeps only recent client addresses.
async fn forget_idle_addresses(state: web::Data<AppState>) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        state.hasher.forget_idle_addresses();
    }
}

async fn reload_registrations(keys: Arc<SigningKeys>, origins: Arc<AllowedOrigins>, pool: DbPool) {
    let mut ticker = tokio::time::interval(keys::RELOAD);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(e) = keys.reload(&pool, shared_core::clock::now()).await {
            log::warn!("reloading the signing keys failed: {}", shared_core::report::Chain(&e));
        }
        if let Err(e) = origins.reload(&pool).await {
            log::warn!("reloading the clients' CORS origins failed: {}", shared_core::report::Chain(&e));
        }
    }
}

/// How long a graceful stop waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
