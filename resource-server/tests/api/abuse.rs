//! Hostile traffic at the resource server: its own per-IP limit on the account proxies, the auth server's
//! 429 passed through, the end user's address forwarded to the auth server, forwarded host names believed
//! from trusted proxies only, and no built-in client secret.

use std::process::Command;

use auth_server::testing::TestAuthServer;
use serde_json::json;
use shared_core::testing::{LogCapture, TestDatabase};

use crate::helpers::*;

/// An auth server and a resource server talking directly (no fault proxy between them), each with its
/// settings adjusted.
struct Pair {
    _auth: TestAuthServer,
    rs: TestResourceServer,
    http: reqwest::Client,
    _dbs: (TestDatabase, TestDatabase),
}

async fn pair(
    backend: Backend,
    auth: impl FnOnce(&mut auth_server::Settings),
    rs: impl FnOnce(&mut resource_server::Settings),
) -> Pair {
    let (auth_db, rs_db) = (TestDatabase::create(backend, "auth"), TestDatabase::create(backend, "rs"));
    let mut auth_settings = auth_server::Settings::for_tests(&auth_db.url);
    auth(&mut auth_settings);
    let auth = TestAuthServer::start(auth_settings).await;
    let mut rs_settings = rs_settings(&rs_db.url, &auth.address);
    rs(&mut rs_settings);
    let rs = TestResourceServer::start(rs_settings).await;
    Pair { _auth: auth, rs, http: reqwest::Client::new(), _dbs: (auth_db, rs_db) }
}

impl Pair {
    async fn login(&self, email: &str, password: &str, forwarded_for: Option<&str>) -> reqwest::Response {
        let mut request =
            self.http.post(self.rs.url("/users/token/")).json(&json!({"email": email, "password": password}));
        if let Some(address) = forwarded_for {
            request = request.header("X-Forwarded-For", address);
        }
        request.send().await.unwrap()
    }

    async fn signup(&self, email: &str) {
        let body = json!({"email": email, "password": PASSWORD, "password2": PASSWORD});
        let response = self.http.post(self.rs.url("/users/signup/")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 201);
    }
}

shared_core::on_both_backends! {
    async fn the_resource_server_limits_proxied_logins_per_address(backend) {
        let pair = pair(backend, |_| {}, |rs| {
            rs.rate_limit.enabled = true;
            rs.rate_limit.per_minute = 1;
            rs.rate_limit.burst = 2;
        })
        .await;
        pair.signup("limited@example.com").await;
        assert_eq!(pair.login("limited@example.com", "wrong-password-1", None).await.status(), 400);
        let refused = pair.login("limited@example.com", PASSWORD, None).await;
        let headers = assert_error(refused, 429, "slow_down").await;
        assert!(headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        // A refresh checks no password: not counted, forwarded as usual (the auth server refuses the junk).
        let refresh = pair.http.post(pair.rs.url("/users/token/refresh/")).json(&json!({"refresh": "junk"})).send().await.unwrap();
        assert_error(refresh, 400, "invalid_grant").await;
    }

    async fn the_auth_servers_429_reaches_the_caller_with_its_retry_after(backend) {
        let pair = pair(backend, |auth| {
            auth.rate_limit.enabled = true;
            auth.rate_limit.per_minute = 1;
            auth.rate_limit.burst = 3;
        }, |_| {})
        .await;
        // The signup's hash and this server's own secret (checked once, then remembered) count: one login.
        pair.signup("passed@example.com").await;
        assert_eq!(pair.login("passed@example.com", PASSWORD, None).await.status(), 200);
        let refused = pair.login("passed@example.com", PASSWORD, None).await;
        let headers = assert_error(refused, 429, "slow_down").await;
        assert!(headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        assert_eq!(headers["cache-control"], "no-store");
    }

    async fn the_auth_server_sees_the_end_users_address_through_a_trusted_resource_server(backend) {
        let logs = LogCapture::install();
        let pair = pair(
            backend,
            |auth| auth.http.trusted_proxies = vec!["127.0.0.1".into()],
            |rs| rs.http.trusted_proxies = vec!["127.0.0.1".into()],
        )
        .await;
        let email = format!("forwarded-{}@example.com", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
        pair.signup(&email).await;
        assert_eq!(pair.login(&email, PASSWORD, Some("198.51.100.23")).await.status(), 200);
        let event = logs
            .audit_events()
            .into_iter()
            .find(|e| e["event"] == "login_succeeded" && e["email"] == email.as_str())
            .expect("the auth server audited the login");
        assert_eq!(event["ip"], "198.51.100.23", "the end user's address, not the resource server's");
    }

    async fn forwarded_host_names_appear_in_links_only_from_trusted_proxies(backend) {
        for (trusted, expected_host) in [(false, "127.0.0.1"), (true, "api.example.com")] {
            let pair = pair(backend, |_| {}, |rs| {
                if trusted {
                    rs.http.trusted_proxies = vec!["127.0.0.1".into()];
                }
            })
            .await;
            pair.signup("links@example.com").await;
            let tokens: serde_json::Value = pair.login("links@example.com", PASSWORD, None).await.json().await.unwrap();
            let token = tokens["access_token"].as_str().unwrap();
            for name in ["a", "b"] {
                let created = pair.http.post(pair.rs.url("/items/")).bearer_auth(token).json(&json!({"name": name, "description": "d", "price": "1.00"})).send().await.unwrap();
                assert_eq!(created.status(), 201);
            }
            let page = pair
                .http
                .get(pair.rs.url("/items/?limit=1"))
                .bearer_auth(token)
                .header("X-Forwarded-Host", "api.example.com")
                .header("X-Forwarded-Proto", "https")
                .send()
                .await
                .unwrap();
            let link = page.headers()["link"].to_str().unwrap().to_owned();
            assert!(link.contains(&format!("://{expected_host}")), "trusted={trusted}: {link}");
        }
    }

    async fn config_check_redacts_the_client_secret_and_reaches_the_database(backend) {
        let database = TestDatabase::create(backend, "rs_config_check");
        let run = |args: &[&str]| {
            resource_server_command()
                .args(args)
                .env("RESOURCE_SERVER__DATABASE__URL", &database.url)
                .env("RESOURCE_SERVER__AUTH__CLIENT_ID", "rs-id")
                .env("RESOURCE_SERVER__AUTH__CLIENT_SECRET", "rs-topsecret-value-42")
                .env("RUST_LOG", "off")
                .output()
                .unwrap()
        };
        let before = run(&["config", "check", "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
        // Not migrated yet: migrations pending (PostgreSQL), or no file yet, which a check does not create (SQLite).
        assert_ne!(report["database"]["pending_migrations"].as_u64(), Some(0), "{report}");
        assert!(run(&["migrate"]).status.success());
        let output = run(&["config", "check", "--json"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!((report["ok"].as_bool(), report["database"]["pending_migrations"].as_u64()), (Some(true), Some(0)));
        assert_eq!(report["settings"]["auth"]["client_secret"], "<redacted>");
        assert!(!String::from_utf8_lossy(&output.stdout).contains("rs-topsecret"));
    }
}

#[test]
fn the_resource_server_refuses_to_start_without_a_client_secret() {
    let output = resource_server_command().env("RESOURCE_SERVER__AUTH__CLIENT_ID", "rs-id").output().unwrap();
    assert_eq!(output.status.code(), Some(2), "a configuration error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("auth.client_id and auth.client_secret are required"), "{stderr}");
}

/// The resource server's binary, without any `RESOURCE_SERVER__` setting of this process's environment.
fn resource_server_command() -> Command {
    shared_core::testing::command_without_settings(env!("CARGO_BIN_EXE_resource-server"), "RESOURCE_SERVER__")
}
