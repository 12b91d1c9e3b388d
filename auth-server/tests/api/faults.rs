//! Hostile or broken input and a database that drops its connections: a clear 4xx, or 503, never a 500,
//! a hang or a lost write.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Sends `head` (a request line and headers, then whatever part of the body) and reads until the server
/// closes the connection. A hang fails the test after a generous bound instead of blocking it.
async fn raw_exchange(port: u16, head: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

shared_core::on_both_backends! {
    async fn unknown_parameters_are_ignored_even_repeated_but_known_ones_may_not_repeat(backend) {
        let app = spawn_app(backend).await;
        let form = [("grant_type", "client_credentials"), ("tenant", "a"), ("tenant", "b"), ("x", "")];
        assert_eq!(app.post_as_rs("/o/token/", &form).await.status(), 200);
        // RFC 8707 allows several resources; this server takes one per request, and says so.
        let resources = [("grant_type", "client_credentials"), ("resource", "https://a.example"), ("resource", "https://b.example")];
        assert_oauth_error(app.post_as_rs("/o/token/", &resources).await, 400, "invalid_request").await;
        let repeated = app.post_as_rs("/o/token/", &[("grant_type", "client_credentials"), ("grant_type", "password")]).await;
        assert_oauth_error(repeated, 400, "invalid_request").await;
        let token = app.client_credentials("read").await;
        let introspect = app.post_as_rs("/o/introspect/", &[("token", token.as_str()), ("token", "other")]).await;
        assert_oauth_error(introspect, 400, "invalid_request").await;
    }

    async fn control_characters_are_refused_with_400_before_any_lookup(backend) {
        let app = spawn_app(backend).await;
        let nul_client = app.post_form("/o/token/", &[("grant_type", "client_credentials"), ("client_id", "rs\0id")]).await;
        assert_oauth_error(nul_client, 400, "invalid_request").await;
        let nul_basic = app.post_as("/o/token/", "rs\0id", RS_SECRET, &[("grant_type", "client_credentials")]).await;
        assert_oauth_error(nul_basic, 400, "invalid_request").await;
        let nul_user = app
            .post_as_rs("/o/token/", &[("grant_type", "password"), ("username", "a\0@example.com"), ("password", "x")])
            .await;
        assert_oauth_error(nul_user, 400, "invalid_request").await;
        let nul_token = app.post_as_rs("/o/introspect/", &[("token", "a\0b")]).await;
        assert_oauth_error(nul_token, 400, "invalid_request").await;

        let signup = json!({"email": "nul\u{0}@example.com", "password": "pass\u{0}word-long", "password2": "x"});
        let response = app.http.post(app.url("/users/signup/")).json(&signup).send().await.unwrap();
        assert_eq!(response.status(), 400);
        let errors: Value = response.json().await.unwrap();
        assert_eq!(errors["email"], json!(["Null characters are not allowed."]));
        assert_eq!(errors["password"], json!(["Null characters are not allowed."]));
    }

    async fn a_json_body_must_be_an_object_and_head_answers_like_get(backend) {
        let app = spawn_app(backend).await;
        let positional = app.http.post(app.url("/users/signup/")).json(&json!(["a@example.com", PASSWORD, PASSWORD])).send().await.unwrap();
        assert_oauth_error(positional, 400, "invalid_request").await;
        let head = app.http.head(app.url("/health/live")).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert!(head.bytes().await.unwrap().is_empty());
    }

    async fn every_405_names_the_methods_the_resource_allows(backend) {
        let app = spawn_app(backend).await;
        for (method, path, allow) in [
            (reqwest::Method::GET, "/o/token/", "POST"),
            (reqwest::Method::DELETE, "/o/introspect", "POST"),
            (reqwest::Method::POST, "/users/password/", "PUT"),
            (reqwest::Method::POST, "/.well-known/oauth-authorization-server", "GET, HEAD"),
            (reqwest::Method::PUT, "/health/live", "GET, HEAD"),
        ] {
            let response = app.http.request(method.clone(), app.url(path)).send().await.unwrap();
            assert_eq!(response.headers().get("allow").map(|v| v.to_str().unwrap()), Some(allow), "{method} {path}");
            assert_oauth_error(response, 405, "invalid_request").await;
        }
    }

    async fn a_body_that_arrives_too_slowly_gets_408_and_its_connection_is_closed(backend) {
        let app = spawn_app_with(backend, |s| s.http.body_timeout_ms = 200).await;
        // Content-Length promises 100 bytes; 11 arrive, then nothing.
        let head = "POST /o/token/ HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                    Content-Length: 100\r\n\r\ngrant_type=";
        let answer = raw_exchange(app.port, head).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");
    }

    async fn lost_database_connections_answer_503_at_worst_and_the_pool_heals(backend) {
        let app = spawn_app(backend).await;
        let token = app.client_credentials("read").await;
        assert!(app.is_active(&token).await);
        // A PostgreSQL restart, a failover or an idle-timeout proxy does this to every pooled connection.
        app.db.terminate_connections();
        let mut statuses = Vec::new();
        // A request may land on a dead connection (503, Retry-After); that marks the others suspect, so
        // they are checked before use: by the pool's size plus one the answers are right again.
        for _ in 0..=app.settings.database.pool_size {
            let response = app.post_as_rs("/o/introspect/", &[("token", token.as_str())]).await;
            let status = response.status().as_u16();
            if status == 503 {
                assert!(response.headers().contains_key("retry-after"));
            }
            statuses.push(status);
        }
        assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "{statuses:?}");
        assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
        assert!(app.is_active(&token).await);
    }
}
