//! `spawn_app` and the requests the tests make.

use std::ops::Deref;

use auth_server::testing::TestAuthServer;
pub use auth_server::testing::{PASSWORD, RS_ID, RS_SECRET};
use auth_server::Settings;
use reqwest::{Client, Response};
use serde_json::Value;
pub use shared_core::testing::Backend;
use shared_core::testing::TestDatabase;

/// A running auth server on its own database, and an HTTP client for it.
pub struct TestApp {
    pub server: TestAuthServer,
    pub http: Client,
    pub db: TestDatabase,
}

impl Deref for TestApp {
    type Target = TestAuthServer;

    fn deref(&self) -> &TestAuthServer {
        &self.server
    }
}

/// An auth server with the test settings ([`Settings::for_tests`]) on a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with the settings changed by `adjust` first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDatabase::create(backend, "auth");
    let mut settings = Settings::for_tests(&db.url);
    adjust(&mut settings);
    TestApp { server: TestAuthServer::start(settings).await, http: Client::new(), db }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// A form POST authenticated as the tutorial client with HTTP Basic.
    pub async fn post_as_rs(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_as(path, RS_ID, RS_SECRET, form).await
    }

    pub async fn post_as(&self, path: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> Response {
        self.http.post(self.url(path)).basic_auth(id, Some(secret)).form(form).send().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http.post(self.url(path)).form(form).send().await.unwrap()
    }

    pub async fn signup(&self, email: &str, password: &str) -> Response {
        let body = serde_json::json!({"email": email, "password": password, "password2": password});
        self.http.post(self.url("/users/signup/")).json(&body).send().await.unwrap()
    }

    /// Signs a user up and returns the password grant's response body.
    pub async fn user_with_tokens(&self, email: &str) -> Value {
        assert_eq!(self.signup(email, PASSWORD).await.status(), 201);
        self.password_grant(email, PASSWORD).await
    }

    pub async fn password_grant(&self, email: &str, password: &str) -> Value {
        let response = self
            .post_as_rs("/o/token/", &[("grant_type", "password"), ("username", email), ("password", password)])
            .await;
        assert_eq!(response.status(), 200, "password grant failed");
        response.json().await.unwrap()
    }

    pub async fn client_credentials(&self, scope: &str) -> String {
        let response = self.post_as_rs("/o/token/", &[("grant_type", "client_credentials"), ("scope", scope)]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let response = self.post_as_rs("/o/introspect/", &[("token", token)]).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn is_active(&self, token: &str) -> bool {
        self.introspect(token).await["active"] == Value::Bool(true)
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_as_rs("/o/token/", &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }
}

pub fn str_of<'a>(body: &'a Value, key: &str) -> &'a str {
    body[key].as_str().unwrap_or_else(|| panic!("{key} missing in {body}"))
}

/// Asserts an RFC 6749 §5.2 error and returns the response's headers.
pub async fn assert_oauth_error(response: Response, status: u16, error: &str) -> reqwest::header::HeaderMap {
    assert_eq!(response.status(), status, "status");
    let headers = response.headers().clone();
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], error, "body: {body}");
    headers
}
