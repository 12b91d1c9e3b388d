//! The one way tests start an auth server (this crate's tests and the resource server's): a real server on
//! 127.0.0.1 port 0 over a fresh database, with settings that never read the environment.

#![allow(clippy::expect_used, reason = "test support: a failure here is a failed test")]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use shared_core::db::DbPool;

use crate::service::admin::{self, ClientSpec};
use crate::service::registration::ClientProfile;
use crate::settings::{BootstrapClient, Settings};
use crate::state::Metrics;
use crate::Application;

/// The tutorial's client, which every test server has.
pub const RS_ID: &str = "rs-id";
pub const RS_SECRET: &str = "rs-secret";
/// A password every validator accepts.
pub const PASSWORD: &str = "correct-horse-battery";

impl Settings {
    /// The built-in defaults (no file, no environment: a developer's exported `AUTH_SERVER__*` cannot change
    /// a test's outcome), on `database_url`, adjusted for tests: 127.0.0.1 port 0, one worker (so that
    /// [`TestAuthServer::stop`] can tell when every connection is closed), bcrypt cost 4, no janitor, and
    /// the tutorial client, no per-IP rate limit.
    pub fn for_tests(database_url: &str) -> Self {
        let mut settings = Settings::load_without_environment(None).expect("the built-in defaults are valid");
        settings.http.host = "127.0.0.1".into();
        settings.http.port = 0;
        settings.http.workers = 1;
        settings.database.url = database_url.to_owned();
        settings.database.pool_size = 4;
        settings.security.bcrypt_cost = 4;
        settings.security.hasher_threads = 2;
        settings.janitor.interval_secs = 0;
        // Every test request comes from 127.0.0.1: the per-IP limit is off unless a test is about it.
        settings.rate_limit.enabled = false;
        settings.clients.insert("tutorial".into(), tutorial_client(RS_SECRET));
        settings
    }
}

/// The tutorial's client definition, with `secret`.
pub fn tutorial_client(secret: &str) -> BootstrapClient {
    BootstrapClient {
        client_id: RS_ID.into(),
        client_secret: Some(secret.into()),
        name: Some("resource-server".into()),
        grant_types: ["password", "refresh_token", "client_credentials"].map(String::from).to_vec(),
        scopes: ["read", "write", "introspection"].map(String::from).to_vec(),
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        allowed_origins: Vec::new(),
        skip_consent: false,
        allow_no_pkce: false,
        access_token_format: Default::default(),
        audiences: Vec::new(),
    }
}

/// A running auth server; stopped when dropped.
pub struct TestAuthServer {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub port: u16,
    pub pool: DbPool,
    pub settings: Settings,
    metrics: Arc<Metrics>,
    /// The signing keys this server uses.
    pub keys: Arc<crate::service::keys::SigningKeys>,
    /// `/metrics`'s own port, when `metrics.listen` is set.
    pub metrics_port: Option<u16>,
    handle: ServerHandle,
}

impl TestAuthServer {
    pub async fn start(settings: Settings) -> Self {
        let app = Application::build(settings.clone()).await.expect("the auth server starts");
        let port = app.port();
        let (pool, metrics, keys, handle) = (app.pool(), app.metrics(), app.signing_keys(), app.handle());
        let metrics_port = app.metrics_port();
        tokio::spawn(app.run_until_stopped());
        Self { address: format!("http://127.0.0.1:{port}"), port, pool, settings, metrics, keys, metrics_port, handle }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Introspection requests served so far.
    pub fn introspections(&self) -> u64 {
        self.metrics.introspections.load(Ordering::SeqCst)
    }

    /// Registers a client, the way `auth-server client create` does. `secret: None` makes a public client.
    pub async fn create_client(&self, client_id: &str, secret: Option<&str>, grant_types: &str, scopes: &str) {
        let split = |list: &str| list.split(',').map(str::to_owned).collect();
        let profile = ClientProfile {
            name: client_id.into(),
            grant_types: split(grant_types),
            scopes: split(scopes),
            require_pkce: true,
            ..ClientProfile::default()
        };
        self.register(ClientSpec {
            client_id: Some(client_id.into()),
            secret: secret.map(str::to_owned),
            public: secret.is_none(),
            profile,
        })
        .await;
    }

    /// Registers a client with every property given.
    pub async fn register(&self, spec: ClientSpec) {
        admin::create_client(&self.pool, spec, &self.settings.scopes.available, self.settings.security.bcrypt_cost)
            .await
            .expect("the client is created");
    }

    /// Stops it and waits until it answers nothing more, not even on a connection kept alive from before.
    /// A forced stop returns before the worker has dropped its connections, so a pooled connection could
    /// still be answered for a moment; a probe on the same (single) worker shows when that moment is over.
    pub async fn stop(&self) {
        let probe = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("an HTTP client");
        let live = self.url("/health/live");
        assert!(probe.get(&live).send().await.is_ok(), "the auth server answers before it is stopped");
        self.handle.stop(false).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while probe.get(&live).send().await.is_ok() {
            assert!(Instant::now() < deadline, "the auth server still answers 10 s after it was stopped");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Starts it again on the same port and database.
    pub async fn restart(&self) -> TestAuthServer {
        let mut settings = self.settings.clone();
        settings.http.port = self.port;
        TestAuthServer::start(settings).await
    }
}

impl Drop for TestAuthServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
