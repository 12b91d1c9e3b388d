//! Building the application: pool, migrations, bootstrap clients, bcrypt workers, janitor and the HTTP
//! server bound to its listener. `main` and the integration tests both start the server through here.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use shared_core::db::{build_pool, DbPool};
use shared_core::oauth::Scopes;

use crate::db;
use crate::password::PasswordHasher;
use crate::routes;
use crate::service::admin::{self, BootstrapOutcome};
use crate::service::client_auth::ClientAuthenticator;
use crate::service::janitor;
use crate::settings::Settings;
use crate::state::{AppState, Metrics, TokenPolicy};

pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

pub struct Application {
    port: u16,
    server: Server,
    pool: DbPool,
    metrics: Arc<Metrics>,
    janitor: Option<tokio::task::JoinHandle<()>>,
}

/// Opens the pool, applies migrations and brings the configured clients up to date. Blocking.
pub fn prepare_database(settings: &Settings) -> Result<DbPool, StartupError> {
    let pool = build_pool(&settings.database)?;
    let mut conn = pool.get()?;
    let applied = db::migrate(&mut conn)?;
    if applied > 0 {
        log::info!("applied {applied} migration(s)");
    }
    for (label, client) in &settings.clients {
        let outcome =
            admin::bootstrap_client(&mut conn, client, &settings.scopes.available, settings.security.bcrypt_cost)
                .map_err(|e| format!("bootstrap client {label:?}: {e}"))?;
        if outcome != BootstrapOutcome::Unchanged {
            log::info!("bootstrap client {:?}: {outcome:?}", client.client_id);
        }
    }
    Ok(pool)
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let prepared = settings.clone();
        let pool = tokio::task::spawn_blocking(move || prepare_database(&prepared)).await??;
        let security = settings.security.clone();
        let hasher = tokio::task::spawn_blocking(move || {
            PasswordHasher::start(security.hasher_threads, security.hasher_queue, security.bcrypt_cost)
        })
        .await??;

        let listener = TcpListener::bind((settings.http.host.as_str(), settings.http.port))?;
        let address = listener.local_addr()?;
        let metrics = Arc::new(Metrics::default());
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            hasher,
            clients: ClientAuthenticator::new(settings.security.client_cache_size),
            policy: TokenPolicy {
                access_token_lifetime: settings.tokens.access_token_lifetime_secs,
                refresh_token_lifetime: settings.tokens.refresh_token_lifetime_secs,
                default_scopes: Scopes::from_iter(settings.scopes.default.iter().cloned()),
            },
            issuer: settings.issuer_for(address),
            available_scopes: Scopes::from_iter(settings.scopes.available.iter().cloned()),
            metrics: metrics.clone(),
        });

        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(shared_core::access_log::access_log())
                .configure(routes::configure)
        })
        .listen(listener)?
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
        if settings.http.workers > 0 {
            server = server.workers(settings.http.workers);
        }
        let janitor = (settings.janitor.interval_secs > 0)
            .then(|| tokio::spawn(janitor::run(pool.clone(), settings.janitor.clone())));
        log::info!("auth server listening on http://{address}");
        Ok(Self { port: address.port(), server: server.run(), pool, metrics, janitor })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> DbPool {
        self.pool.clone()
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(janitor) = self.janitor {
            janitor.abort();
        }
        result
    }
}

/// How long a graceful stop waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
