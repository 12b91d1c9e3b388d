//! `spawn_system`: an auth server and a resource server wired together, plus the requests tests make.

pub use auth_server::testing::{TestAuthServer, PASSWORD};

pub use crate::fault_proxy::FaultProxy;
use reqwest::{Client, Response};
use serde_json::{json, Value};
pub use shared_core::testing::Backend;
use shared_core::testing::TestDatabase;

/// A running resource server, stopped when dropped: the one way these tests start one.
pub struct TestResourceServer {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub state: actix_web::web::Data<resource_server::state::AppState>,
    /// `/metrics`'s own port, when `metrics.listen` is set.
    pub metrics_port: Option<u16>,
    handle: actix_web::dev::ServerHandle,
}

impl TestResourceServer {
    pub async fn start(settings: resource_server::Settings) -> Self {
        let app = resource_server::Application::build(settings).await.expect("the resource server starts");
        let (address, state, handle) = (format!("http://127.0.0.1:{}", app.port()), app.state(), app.handle());
        let metrics_port = app.metrics_port();
        tokio::spawn(app.run_until_stopped());
        Self { address, state, metrics_port, handle }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

impl Drop for TestResourceServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

pub struct System {
    pub rs: String,
    pub auth: TestAuthServer,
    /// Between the resource server and the auth server: `proxy.hang()` makes the auth server look hung.
    pub proxy: FaultProxy,
    pub http: Client,
    pub rs_app_state: actix_web::web::Data<resource_server::state::AppState>,
    pub rs_db: TestDatabase,
    /// The resource server's `/metrics` port when `metrics.listen` is set.
    pub rs_metrics_port: Option<u16>,
    _auth_db: TestDatabase,
    _resource_server: TestResourceServer,
}

/// A resource server's test settings ([`resource_server::Settings::for_tests`]).
pub fn rs_settings(url: &str, auth_base: &str) -> resource_server::Settings {
    resource_server::Settings::for_tests(url, auth_base)
}

/// The default system: cache TTL 60 s with the revocation stream, 5 s without it.
pub async fn spawn_system(backend: Backend) -> System {
    spawn_system_with(backend, |_| {}).await
}

/// A system whose resource-server settings `adjust` changes.
pub async fn spawn_system_with(backend: Backend, adjust: impl FnOnce(&mut resource_server::Settings)) -> System {
    let auth_db = TestDatabase::create(backend, "auth");
    let rs_db = TestDatabase::create(backend, "rs");
    let auth = TestAuthServer::start(auth_server::Settings::for_tests(&auth_db.url)).await;
    let proxy = FaultProxy::start(([127, 0, 0, 1], auth.port).into()).await;
    let mut settings = rs_settings(&rs_db.url, &proxy.address);
    adjust(&mut settings);
    let server = TestResourceServer::start(settings).await;
    let (rs, rs_app_state, rs_metrics_port) = (server.address.clone(), server.state.clone(), server.metrics_port);
    System {
        rs,
        auth,
        proxy,
        http: Client::new(),
        rs_app_state,
        rs_db,
        rs_metrics_port,
        _auth_db: auth_db,
        _resource_server: server,
    }
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
        let response = self
            .http
            .post(self.url("/users/token/"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn user_token(&self, email: &str) -> String {
        self.user(email).await["access_token"].as_str().unwrap().to_owned()
    }

    /// A token straight from the auth server with the given grant form.
    pub async fn auth_token(&self, form: &[(&str, &str)]) -> String {
        token_from(&self.http, &self.auth, form).await
    }

    pub async fn revoke(&self, token: &str) {
        let response = self
            .http
            .post(format!("{}/o/revoke_token/", self.auth.address))
            .basic_auth("rs-id", Some("rs-secret"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, token: &str, body: Value) -> Response {
        self.http.request(method, self.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    pub async fn create_item(&self, token: &str, name: &str) -> Value {
        let response = self
            .send(reqwest::Method::POST, "/items/", token, json!({"name": name, "description": "d", "price": "1.00"}))
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }
}

/// Asserts a `{"error": ...}` answer and returns its headers.
/// An access token from `auth`'s token endpoint, as the tutorial's client, for the given grant form.
pub async fn token_from(http: &Client, auth: &TestAuthServer, form: &[(&str, &str)]) -> String {
    let response =
        http.post(auth.url("/o/token/")).basic_auth("rs-id", Some("rs-secret")).form(form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

pub async fn assert_error(response: Response, status: u16, error: &str) -> reqwest::header::HeaderMap {
    assert_eq!(response.status(), status);
    let headers = response.headers().clone();
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], error, "{body}");
    headers
}
