//! The auth server down, hanging or back: 503 quickly, cached tokens keep working, recovery.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn an_outage_answers_503_while_cached_tokens_keep_working_and_recovery_follows(backend) {
        // TTL 0: every request asks the auth server, so the cached token is served only as stale.
        let system = spawn_system_with(backend, |s| {
            s.cache.ttl_secs = 0;
            s.cache.stale_grace_secs = 300;
        }).await;
        let cached = system.user_token("cached@example.com").await;
        let fresh = system.user_token("fresh@example.com").await;
        assert_eq!(system.get("/items/", &cached).await.status(), 200);

        system.auth.stop().await;
        let response = system.get("/items/", &fresh).await;
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");
        assert_eq!(system.get("/items/", &cached).await.status(), 200, "a cached token keeps working");
        let login = system.http.post(system.url("/users/token/")).json(&serde_json::json!({"email": "fresh@example.com", "password": PASSWORD})).send().await.unwrap();
        assert_error(login, 503, "temporarily_unavailable").await;
        assert_eq!(system.http.get(system.url("/health/ready")).send().await.unwrap().status(), 503);

        let _restarted = system.auth.restart().await;
        assert_eq!(system.get("/items/", &fresh).await.status(), 200);
        assert_eq!(system.http.get(system.url("/health/ready")).send().await.unwrap().status(), 200);
    }

    async fn an_auth_server_that_never_answers_gets_503_within_the_timeout(backend) {
        // A listener that accepts connections and never replies.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", silent.local_addr().unwrap());
        let auth_db = shared_core::testing::TestDatabase::create(backend, "unused");
        let rs_db = shared_core::testing::TestDatabase::create(backend, "rs_hang");
        let mut settings = rs_settings(&rs_db.url, &address);
        settings.auth.timeout_ms = 300;
        let server = TestResourceServer::start(settings).await;
        let url = server.url("/items/");
        let started = Instant::now();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let response = client.get(&url).bearer_auth("some-token").send().await.expect("an answer, not a hang");
        assert_eq!(response.status(), 503);
        // The configured 300 ms bounds the wait, with generous slack for a loaded machine.
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        drop((server, silent, auth_db));
    }
}
