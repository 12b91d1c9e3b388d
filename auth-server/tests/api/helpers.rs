//! `spawn_app` and the requests the tests make.

use auth_server::{Application, Settings};
use reqwest::{Client, Response};
use serde_json::Value;
use shared_core::db::DbPool;
pub use shared_core::testing::Backend;
use shared_core::testing::TestDatabase;

pub const RS_ID: &str = "rs-id";
pub const RS_SECRET: &str = "rs-secret";
pub const PASSWORD: &str = "correct-horse-battery";

/// Declares each test twice: `sqlite::name` and `postgres::name` (skipped, and saying so, without
/// `TEST_POSTGRES_URL`).
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[actix_rt::test]
                async fn $name() {
                    let $app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await.expect("sqlite");
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
                    let Some($app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await else { return };
                    $body
                }
            )*
        }
    };
}

pub struct TestApp {
    pub address: String,
    pub http: Client,
    pub pool: DbPool,
    pub settings: Settings,
    pub db: TestDatabase,
    handle: actix_web::dev::ServerHandle,
}

/// The settings every test starts from: port 0, cheap bcrypt, no janitor, the tutorial client.
pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::load(None).expect("default settings");
    settings.http.host = "127.0.0.1".into();
    settings.http.port = 0;
    settings.http.workers = 2;
    settings.database.url = database_url.to_owned();
    settings.database.pool_size = 4;
    settings.security.bcrypt_cost = 4;
    settings.security.hasher_threads = 2;
    settings.janitor.interval_secs = 0;
    settings.issuer = String::new();
    settings.clients.clear();
    settings.clients.insert("tutorial".into(), tutorial_client(RS_SECRET));
    settings
}

pub fn tutorial_client(secret: &str) -> auth_server::settings::BootstrapClient {
    serde_json::from_value(serde_json::json!({
        "client_id": RS_ID,
        "client_secret": secret,
        "name": "resource-server",
        "grant_types": "password,refresh_token,client_credentials",
        "scopes": "read,write,introspection",
    }))
    .unwrap()
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let db = TestDatabase::create(backend, "auth")?;
    let settings = test_settings(&db.url);
    Some(spawn_with(db, settings).await)
}

pub async fn spawn_with(db: TestDatabase, settings: Settings) -> TestApp {
    let app = Application::build(settings.clone()).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp { address, http: Client::new(), pool, settings, db, handle }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the database is dropped after (TestDatabase's Drop).
        let handle = self.handle.clone();
        drop(handle.stop(false));
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

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
