//! The introspection cache: revocation within the TTL, one call per token per TTL, negative entries.

use std::time::{Duration, Instant};

use crate::helpers::*;

crate::on_both_backends! {
    async fn a_revoked_token_is_refused_within_the_cache_ttl(backend) {
        let system = spawn_system_with(backend, |s| s.cache.ttl_secs = 1).await;
        let token = system.user_token("revoked@example.com").await;
        assert_eq!(system.get("/items/", &token).await.status(), 200);
        system.revoke(&token).await;
        // Poll until refused; the deadline is generous, the bound under test is the 1 s TTL.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = system.get("/items/", &token).await.status();
            if status == 401 {
                break;
            }
            assert_eq!(status, 200);
            assert!(Instant::now() < deadline, "a revoked token was still accepted after 10 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn many_requests_with_one_token_make_one_introspection(backend) {
        let system = spawn_system_with(backend, |s| s.cache.ttl_secs = 300).await;
        let token = system.user_token("busy@example.com").await;
        let before = system.auth.introspections();
        let requests = (0..20).map(|_| system.get("/items/", &token));
        let statuses: Vec<u16> = futures_util::future::join_all(requests).await.iter().map(|r| r.status().as_u16()).collect();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        for _ in 0..5 {
            assert_eq!(system.get("/items/", &token).await.status(), 200);
        }
        assert_eq!(system.auth.introspections() - before, 1);
    }

    async fn an_unknown_token_is_remembered_as_inactive(backend) {
        let system = spawn_system_with(backend, |s| s.cache.negative_ttl_secs = 300).await;
        let before = system.auth.introspections();
        for _ in 0..5 {
            assert_error(system.get("/items/", "not-a-real-token").await, 401, "invalid_token").await;
        }
        assert_eq!(system.auth.introspections() - before, 1);
    }

    async fn tokens_are_cached_by_digest_and_the_cache_is_bounded(backend) {
        let system = spawn_system_with(backend, |s| s.cache.max_entries = 10).await;
        let token = system.user_token("bounded@example.com").await;
        assert_eq!(system.get("/items/", &token).await.status(), 200);
        for i in 0..50 {
            system.get("/items/", &format!("junk-{i}")).await;
        }
        system.rs_app_state.tokens.run_pending_tasks().await;
        assert!(system.rs_app_state.tokens.entry_count() <= 10, "{}", system.rs_app_state.tokens.entry_count());
    }

    async fn a_static_introspection_token_can_replace_the_client_credentials(backend) {
        let auth_only = spawn_system(backend).await;
        let machine = auth_only.auth_token(&[("grant_type", "client_credentials"), ("scope", "introspection")]).await;
        let user = auth_only.user_token("static@example.com").await;
        let address = auth_only.auth.address.clone();
        let rs_db = shared_core::testing::TestDatabase::create(backend, "rs_static").unwrap();
        let mut settings = rs_settings(&rs_db.url, &address);
        settings.auth.client_secret = "not-the-secret".into();
        settings.auth.introspection_token = machine;
        let app = resource_server::Application::build(settings).await.unwrap();
        let url = format!("http://127.0.0.1:{}/items/", app.port());
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        let response = auth_only.http.get(&url).bearer_auth(&user).send().await.unwrap();
        assert_eq!(response.status(), 200);
        handle.stop(false).await;
    }
}
