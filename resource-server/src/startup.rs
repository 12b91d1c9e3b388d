//! Building the application: pool, migrations, the auth-server client, the token cache and the HTTP server
//! bound to its listener. `main` and the integration tests both start the server through here.

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
use shared_core::rate_limit::IpRateLimiter;
use shared_core::request_context;

use crate::auth_client::AuthClient;
use crate::db;
use crate::error::Error;
use crate::introspection::{StreamTrust, TokenValidator};
use crate::revocations::Subscriber;
use crate::routes;
use crate::routes::openapi::ApiDoc;
use crate::settings::Settings;
use crate::state::AppState;

pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// `/metrics` on its own port (`metrics.listen`), stopped with the server.
    metrics_listener: Option<shared_core::metrics::PrivateListener>,
    /// Sets the token cache's entry gauge every few seconds while metrics are on.
    cache_reporter: Option<tokio::task::JoinHandle<()>>,
    /// Follows the revocation events; stopped with the server.
    subscriber: Option<tokio::task::JoinHandle<()>>,
}

/// Opens the pool and applies migrations.
pub async fn prepare_database(settings: &Settings) -> Result<DbPool, StartupError> {
    let database = settings.database.clone();
    // Opening the pool's connections blocks.
    let pool = tokio::task::spawn_blocking(move || build_pool(&database)).await??;
    let applied = db::migrate(&pool).await?;
    if applied > 0 {
        log::info!("applied {applied} migration(s)");
    }
    Ok(pool)
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // First: the pool and the token cache take their metric handles from the recorder.
        let (metrics_endpoint, metrics_listener) =
            shared_core::metrics::start(&settings.metrics, crate::metrics::describe)?;
        let pool = prepare_database(&settings).await?;
        let auth = Arc::new(AuthClient::connect(&settings.auth).await?);
        let revocations = auth.endpoints().revocations.clone();
        let trust = Arc::new(StreamTrust::new(revocations.is_some()));
        let tokens =
            TokenValidator::new(settings.cache.clone(), &settings.auth, auth.clone(), pool.clone(), trust.clone());
        let subscriber = revocations.map(|url| {
            let idle = Duration::from_secs(settings.auth.revocation_stream_idle_secs.max(1));
            tokio::spawn(Subscriber { auth: auth.clone(), tokens: tokens.clone(), trust, idle }.run(url))
        });
        let cache_reporter = metrics_endpoint.recording().then(|| tokio::spawn(report_cache_entries(tokens.clone())));
        let account_calls = IpRateLimiter::new(&settings.rate_limit, "account_calls");
        let state = web::Data::new(AppState { pool: pool.clone(), auth: auth.clone(), tokens, account_calls });
        if settings.auth.client_secret == "rs-secret" {
            log::warn!(
                "!!! auth.client_secret is the tutorial's well-known one: anyone can authenticate as this server's \
                 client. Fine for a walkthrough on your machine; set another secret anywhere else. !!!"
            );
        }
        // Validated with the settings: this cannot fail here.
        let proxies = web::Data::new(TrustedProxies::parse(&settings.http.trusted_proxies).unwrap_or_default());

        let listener = TcpListener::bind((settings.http.host.as_str(), settings.http.port))?;
        let address = listener.local_addr()?;
        let app_state = state.clone();
        let auth = state.auth.clone();
        let document = web::Data::new(OpenApiDocument::render::<ApiDoc>()?);
        let body_timeout = BodyTimeout(Duration::from_millis(settings.http.body_timeout_ms));
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(document.clone())
                .app_data(proxies.clone())
                .app_data(body_timeout)
                .app_data(
                    web::QueryConfig::default().error_handler(|e, _| Error::BadRequest(e.to_string().into()).into()),
                )
                .wrap(metrics_endpoint.record_requests())
                .wrap(from_fn(shared_core::access_log::middleware))
                .wrap(from_fn(request_context::middleware))
                .configure(|cfg| metrics_endpoint.configure(cfg))
                .configure(routes::configure)
        })
        .listen(listener)?
        .shutdown_timeout(5);
        if settings.http.workers > 0 {
            server = server.workers(settings.http.workers);
        }
        log::info!(
            "resource server listening on http://{address}, introspecting at {}",
            auth.endpoints().introspection
        );
        Ok(Self { port: address.port(), server: server.run(), state, metrics_listener, cache_reporter, subscriber })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> DbPool {
        self.state.pool.clone()
    }

    /// Tokens held by the introspection cache.
    pub fn cached_tokens(&self) -> u64 {
        self.state.tokens.entry_count()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
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
        if let Some(subscriber) = self.subscriber {
            subscriber.abort();
        }
        if let Some(reporter) = self.cache_reporter {
            reporter.abort();
        }
        if let Some(listener) = self.metrics_listener {
            listener.stop().await;
        }
        result
    }
}

/// The cache's size changes as entries expire, not only as requests come: it is read now and then.
async fn report_cache_entries(tokens: TokenValidator) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        tokens.report_entries();
    }
}
