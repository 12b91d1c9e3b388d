//! `spawn_system`: an auth server and a resource server wired together, plus the requests tests make.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Response};
use serde_json::{json, Value};
pub use shared_core::testing::Backend;
use shared_core::testing::TestDatabase;

pub const PASSWORD: &str = "correct-horse-battery";

/// Declares each test twice: `sqlite::name` and `postgres::name` (skipped, saying so, without
/// `TEST_POSTGRES_URL`). The body gets a default system; tests needing other settings build their own.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[actix_rt::test]
                async fn $name() {
                    let $backend = $crate::helpers::Backend::Sqlite;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[actix_rt::test]
                async fn $name() {
                    if std::env::var("TEST_POSTGRES_URL").is_err() {
                        eprintln!("SKIPPED (PostgreSQL): TEST_POSTGRES_URL is not set");
                        return;
                    }
                    let $backend = $crate::helpers::Backend::Postgres;
                    $body
                }
            )*
        }
    };
}

pub struct AuthServer {
    pub address: String,
    pub port: u16,
    pub metrics: Arc<auth_server::state::Metrics>,
    pub settings: auth_server::Settings,
    handle: actix_web::dev::ServerHandle,
}

impl AuthServer {
    pub async fn start(settings: auth_server::Settings) -> Self {
        let app = auth_server::Application::build(settings.clone()).await.expect("auth server");
        let port = app.port();
        let metrics = app.metrics();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Self { address: format!("http://127.0.0.1:{port}"), port, metrics, settings, handle }
    }

    pub fn introspections(&self) -> u64 {
        self.metrics.introspections.load(Ordering::SeqCst)
    }

    /// Stops it and waits until it answers nothing more, not even on a connection kept alive from before.
    /// A forced stop returns before the worker has dropped its connections, so the resource server's pooled
    /// connection could still be answered for a moment; a probe connection on the same (single) worker shows
    /// when that moment is over.
    pub async fn stop(&self) {
        let probe = Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
        let live = format!("{}/health/live", self.address);
        assert!(probe.get(&live).send().await.is_ok(), "the auth server answers before it is stopped");
        self.handle.stop(false).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while probe.get(&live).send().await.is_ok() {
            assert!(Instant::now() < deadline, "the auth server still answers 10 s after it was stopped");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Starts it again on the same port and database.
    pub async fn restart(&self) -> AuthServer {
        let mut settings = self.settings.clone();
        settings.http.port = self.port;
        AuthServer::start(settings).await
    }
}

pub struct System {
    pub rs: String,
    pub auth: AuthServer,
    pub http: Client,
    pub rs_app_state: actix_web::web::Data<resource_server::state::AppState>,
    _auth_db: TestDatabase,
    _rs_db: TestDatabase,
    rs_handle: actix_web::dev::ServerHandle,
}

impl Drop for System {
    fn drop(&mut self) {
        drop(self.rs_handle.stop(false));
        drop(self.auth.handle.stop(false));
    }
}

pub fn auth_settings(url: &str) -> auth_server::Settings {
    let mut s = auth_server::Settings::load(None).unwrap();
    s.http.host = "127.0.0.1".into();
    s.http.port = 0;
    // One worker: `AuthServer::stop` can then tell when every connection to it is closed.
    s.http.workers = 1;
    s.database.url = url.into();
    s.database.pool_size = 4;
    s.security.bcrypt_cost = 4;
    s.security.hasher_threads = 2;
    s.janitor.interval_secs = 0;
    s.issuer = String::new();
    s.clients.clear();
    let client = serde_json::from_value(json!({
        "client_id": "rs-id", "client_secret": "rs-secret", "name": "resource-server",
        "grant_types": "password,refresh_token,client_credentials", "scopes": "read,write,introspection",
    }))
    .unwrap();
    s.clients.insert("tutorial".into(), client);
    s
}

pub fn rs_settings(url: &str, auth_base: &str) -> resource_server::Settings {
    let mut s = resource_server::Settings::load(None).unwrap();
    s.http.host = "127.0.0.1".into();
    s.http.port = 0;
    s.http.workers = 2;
    s.database.url = url.into();
    s.database.pool_size = 4;
    s.auth.base_url = auth_base.into();
    s.auth.client_id = "rs-id".into();
    s.auth.client_secret = "rs-secret".into();
    s.auth.introspection_token = String::new();
    s.auth.timeout_ms = 2000;
    s
}

/// The default system: cache TTL 5 s.
pub async fn spawn_system(backend: Backend) -> System {
    spawn_system_with(backend, |_| {}).await
}

/// A system whose resource-server settings `adjust` changes.
pub async fn spawn_system_with(backend: Backend, adjust: impl FnOnce(&mut resource_server::Settings)) -> System {
    let auth_db = TestDatabase::create(backend, "auth").expect("auth database");
    let rs_db = TestDatabase::create(backend, "rs").expect("resource database");
    let auth = AuthServer::start(auth_settings(&auth_db.url)).await;
    let mut settings = rs_settings(&rs_db.url, &auth.address);
    adjust(&mut settings);
    let app = resource_server::Application::build(settings).await.expect("resource server");
    let rs = format!("http://127.0.0.1:{}", app.port());
    let rs_handle = app.handle();
    let rs_app_state = app.state();
    tokio::spawn(app.run_until_stopped());
    System { rs, auth, http: Client::new(), rs_app_state, _auth_db: auth_db, _rs_db: rs_db, rs_handle }
}

impl System {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.rs)
    }

    pub async fn signup(&self, email: &str) -> Response {
        let body = json!({"email": email, "password": PASSWORD, "password2": PASSWORD});
        self.http.post(self.url("/users/signup/")).json(&body).send().await.unwrap()
    }

    /// Signs up through the resource server and logs in; returns the token response.
    pub async fn user(&self, email: &str) -> Value {
        assert_eq!(self.signup(email).await.status(), 201);
        let response = self.http.post(self.url("/users/token/")).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn user_token(&self, email: &str) -> String {
        self.user(email).await["access_token"].as_str().unwrap().to_owned()
    }

    /// A token straight from the auth server with the given grant form.
    pub async fn auth_token(&self, form: &[(&str, &str)]) -> String {
        let response = self.http.post(format!("{}/o/token/", self.auth.address)).basic_auth("rs-id", Some("rs-secret")).form(form).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn revoke(&self, token: &str) {
        let response = self.http.post(format!("{}/o/revoke_token/", self.auth.address)).basic_auth("rs-id", Some("rs-secret")).form(&[("token", token)]).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, token: &str, body: Value) -> Response {
        self.http.request(method, self.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    pub async fn create_item(&self, token: &str, name: &str) -> Value {
        let response = self.send(reqwest::Method::POST, "/items/", token, json!({"name": name, "description": "d", "price": "1.00"})).await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }
}

/// Asserts a `{"error": ...}` answer and returns its headers.
pub async fn assert_error(response: Response, status: u16, error: &str) -> reqwest::header::HeaderMap {
    assert_eq!(response.status(), status);
    let headers = response.headers().clone();
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], error, "{body}");
    headers
}
