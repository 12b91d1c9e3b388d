//! The revocation stream: a revoked token is refused long before the cache's 60 s TTL, JWTs included; a lost
//! stream makes cached answers due, and the stream resumes where it stopped.

use std::time::{Duration, Instant};

use auth_server::service::registration::AccessTokenFormat;
use resource_server::introspection::StreamState;
use serde_json::{json, Value};
use shared_core::testing::TestDatabase;

use crate::helpers::*;

/// Waits (at most 10 s) until the resource server's stream is in `state`.
async fn until_stream(state: &actix_web::web::Data<resource_server::state::AppState>, wanted: StreamState) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while state.tokens.stream_state() != wanted {
        assert!(Instant::now() < deadline, "the stream is {:?}, not {wanted:?}", state.tokens.stream_state());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Asks with `token` until the answer is 401 (at most 10 s: without the stream it would take the TTL, 60 s).
async fn until_refused(http: &reqwest::Client, url: &str, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = http.get(url).bearer_auth(token).send().await.unwrap().status();
        if status == 401 {
            return;
        }
        assert_eq!(status, 200);
        assert!(Instant::now() < deadline, "still accepted 10 s after the revocation");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn login(http: &reqwest::Client, rs: &str, email: &str, password: &str) -> String {
    let login = json!({"email": email, "password": password});
    let response = http.post(format!("{rs}/users/token/")).json(&login).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

shared_core::on_both_backends! {
    async fn a_revoked_token_is_refused_at_once_though_answers_are_cached_for_a_minute(backend) {
        let system = spawn_system(backend).await;
        until_stream(&system.rs_app_state, StreamState::Live).await;
        let ready: Value = system.http.get(system.url("/health/ready")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["revocation_stream"], "live");

        let token = system.user_token("stream@example.com").await;
        assert_eq!(system.get("/items/", &token).await.status(), 200);
        let asked = system.auth.introspections();
        assert_eq!(system.get("/items/", &token).await.status(), 200);
        assert_eq!(system.auth.introspections(), asked, "served from the cache");
        system.revoke(&token).await;
        until_refused(&system.http, &system.url("/items/"), &token).await;
    }

    async fn a_password_change_ends_the_users_other_tokens_here_too(backend) {
        let system = spawn_system(backend).await;
        until_stream(&system.rs_app_state, StreamState::Live).await;
        assert_eq!(system.signup("change@example.com").await.status(), 201);
        let kept = login(&system.http, &system.rs, "change@example.com", PASSWORD).await;
        let other = login(&system.http, &system.rs, "change@example.com", PASSWORD).await;
        for token in [&kept, &other] {
            assert_eq!(system.get("/items/", token).await.status(), 200);
        }
        let change = json!({"old_password": PASSWORD, "password": "another-horse-battery", "password2": "another-horse-battery"});
        let response = system.send(reqwest::Method::PUT, "/users/password/", &kept, change).await;
        assert_eq!(response.status(), 200);
        until_refused(&system.http, &system.url("/items/"), &other).await;
        assert_eq!(system.get("/items/", &kept).await.status(), 200, "the token the change was made with stays");
    }

    async fn a_revoked_jwt_is_refused_though_it_is_verified_here(backend) {
        let (auth_db, rs_db) = (TestDatabase::create(backend, "auth"), TestDatabase::create(backend, "rs"));
        let mut settings = auth_server::Settings::for_tests(&auth_db.url);
        settings.clients.get_mut("tutorial").unwrap().access_token_format = AccessTokenFormat::Jwt;
        let auth = TestAuthServer::start(settings).await;
        let rs = TestResourceServer::start(rs_settings(&rs_db.url, &auth.address)).await;
        until_stream(&rs.state, StreamState::Live).await;
        let http = reqwest::Client::new();
        let signup = json!({"email": "jwt@example.com", "password": PASSWORD, "password2": PASSWORD});
        assert_eq!(http.post(rs.url("/users/signup/")).json(&signup).send().await.unwrap().status(), 201);
        let token = login(&http, &rs.address, "jwt@example.com", PASSWORD).await;
        assert_eq!(token.split('.').count(), 3, "a JWT");
        assert_eq!(http.get(rs.url("/items/")).bearer_auth(&token).send().await.unwrap().status(), 200);
        let response = http.post(auth.url("/o/revoke_token/")).basic_auth("rs-id", Some("rs-secret")).form(&[("token", &token)]).send().await.unwrap();
        assert_eq!(response.status(), 200);
        until_refused(&http, &rs.url("/items/"), &token).await;
        // Refused for good, not only until its cache entry is renewed.
        for _ in 0..3 {
            assert_eq!(http.get(rs.url("/items/")).bearer_auth(&token).send().await.unwrap().status(), 401);
        }
    }

    async fn a_lost_stream_makes_cached_answers_due_and_the_stream_resumes_after_its_last_event(backend) {
        let (auth_db, rs_db) = (TestDatabase::create(backend, "auth"), TestDatabase::create(backend, "rs"));
        let mut settings = auth_server::Settings::for_tests(&auth_db.url);
        settings.revocation.heartbeat_secs = 1;
        let auth = TestAuthServer::start(settings.clone()).await;
        // A second instance on the same database, reached directly: it takes revocations during the outage.
        let other = TestAuthServer::start(settings).await;
        let proxy = FaultProxy::start(([127, 0, 0, 1], auth.port).into()).await;
        let mut rs_config = rs_settings(&rs_db.url, &proxy.address);
        rs_config.auth.revocation_stream_idle_secs = 2;
        rs_config.auth.timeout_ms = 60_000;
        rs_config.cache.revalidate_wait_ms = 50;
        let rs = TestResourceServer::start(rs_config).await;
        until_stream(&rs.state, StreamState::Live).await;
        let http = reqwest::Client::new();
        let mut tokens = Vec::new();
        for email in ["due@example.com", "resumed@example.com"] {
            let signup = json!({"email": email, "password": PASSWORD, "password2": PASSWORD});
            assert_eq!(http.post(rs.url("/users/signup/")).json(&signup).send().await.unwrap().status(), 201);
            let token = login(&http, &rs.address, email, PASSWORD).await;
            assert_eq!(http.get(rs.url("/items/")).bearer_auth(&token).send().await.unwrap().status(), 200);
            tokens.push(token);
        }
        let (due, resumed) = (&tokens[0], &tokens[1]);
        let validator = &rs.state.tokens;
        validator.validate(due, Instant::now()).await.unwrap();
        assert_eq!(validator.introspections_in_flight(), 0, "fresh while the stream is live");

        // The stream falls silent: past auth.revocation_stream_idle_secs it is lost.
        proxy.hang();
        until_stream(&rs.state, StreamState::Connecting).await;
        // Revoked meanwhile at the other instance: this server cannot hear of it now.
        let response = http.post(other.url("/o/revoke_token/")).basic_auth("rs-id", Some("rs-secret")).form(&[("token", resumed)]).send().await.unwrap();
        assert_eq!(response.status(), 200);
        // A token cached before the loss is due: it is served (stale, the auth server cannot be reached) while
        // its renewal goes out.
        assert_eq!(http.get(rs.url("/items/")).bearer_auth(due).send().await.unwrap().status(), 200);
        assert_eq!(validator.introspections_in_flight(), 1, "the cached answer was due");

        // Back: the stream resumes after its last event and hears of the revocation it missed.
        proxy.pass();
        until_stream(&rs.state, StreamState::Live).await;
        until_refused(&http, &rs.url("/items/"), resumed).await;
    }

    async fn a_stream_that_cannot_connect_is_degraded_and_one_the_auth_server_lacks_is_off(backend) {
        // Nothing listens there: the stream keeps trying, and readiness says degraded, not down.
        let system = spawn_system_with(backend, |s| s.auth.revocations_url = "http://127.0.0.1:1/unused".into()).await;
        let response = system.http.get(system.url("/health/ready")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let ready: Value = response.json().await.unwrap();
        assert_eq!((ready["status"].as_str(), ready["revocation_stream"].as_str()), (Some("degraded"), Some("connecting")));
        let url = format!("{}/o/no-such-stream/", system.auth.address);
        let rs_db = TestDatabase::create(backend, "rs_off");
        let mut settings = rs_settings(&rs_db.url, &system.auth.address);
        settings.auth.revocations_url = url;
        let rs = TestResourceServer::start(settings).await;
        until_stream(&rs.state, StreamState::Off).await;
        let ready: Value = system.http.get(rs.url("/health/ready")).send().await.unwrap().json().await.unwrap();
        assert_eq!((ready["status"].as_str(), ready["revocation_stream"].as_str()), (Some("ok"), Some("off")));
    }
}
