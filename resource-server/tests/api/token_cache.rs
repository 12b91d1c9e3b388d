//! The introspection cache: without a revocation stream, a revocation is seen exactly when the TTL has passed;
//! one call per token per TTL, negative entries, digest keys and the bound.

use std::time::{Duration, Instant};

use resource_server::introspection::Validation;
use shared_core::digest::token_digest_bytes;

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn without_a_stream_a_revoked_token_is_served_from_the_cache_until_the_ttl_and_refused_from_then_on(backend) {
        let system = spawn_system_with(backend, |s| {
            s.auth.revocation_stream = false;
            s.cache.ttl_secs = 60;
            s.cache.ttl_without_stream_secs = 5;
            // The renewal at the TTL is awaited however long a loaded machine takes to answer it.
            s.cache.revalidate_wait_ms = 60_000;
        })
        .await;
        let token = system.user_token("revoked@example.com").await;
        let tokens = &system.rs_app_state.tokens;
        let t0 = Instant::now();
        assert!(matches!(tokens.validate(&token, t0).await.unwrap(), Validation::Active(_)));
        let asked = system.auth.introspections();
        system.revoke(&token).await;

        // Within the TTL the cached answer stands, and the auth server is not asked again.
        let before_ttl = tokens.validate(&token, t0 + Duration::from_millis(4_999)).await.unwrap();
        assert!(matches!(before_ttl, Validation::Active(_)), "cached for the whole TTL");
        assert_eq!(system.auth.introspections(), asked);
        // From the TTL on, it asks again and learns of the revocation.
        let at_ttl = tokens.validate(&token, t0 + Duration::from_secs(5)).await.unwrap();
        assert!(matches!(at_ttl, Validation::Inactive), "refused once the TTL has passed");
        assert_eq!(system.auth.introspections(), asked + 1);
        // Requests see the same: the token is now remembered as inactive.
        assert_error(system.get("/items/", &token).await, 401, "invalid_token").await;
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
        let tokens = &system.rs_app_state.tokens;
        let token = system.user_token("bounded@example.com").await;
        assert_eq!(system.get("/items/", &token).await.status(), 200);
        tokens.run_pending_tasks().await;
        assert_eq!(tokens.entry_count(), 1);
        assert!(tokens.holds_digest(&token_digest_bytes(&token)), "keyed by the token's SHA-256");

        // Unknown tokens are cached too (as inactive) while there is room...
        for i in 0..5 {
            assert_error(system.get("/items/", &format!("junk-{i}")).await, 401, "invalid_token").await;
        }
        tokens.run_pending_tasks().await;
        assert_eq!(tokens.entry_count(), 6);
        assert!((0..5).all(|i| tokens.holds_digest(&token_digest_bytes(&format!("junk-{i}")))));
        // ...and never beyond max_entries.
        for i in 5..60 {
            system.get("/items/", &format!("junk-{i}")).await;
        }
        tokens.run_pending_tasks().await;
        assert!(tokens.entry_count() <= 10, "{} entries", tokens.entry_count());
    }

    async fn a_static_introspection_token_can_replace_the_client_credentials(backend) {
        let auth_only = spawn_system(backend).await;
        let machine = auth_only.auth_token(&[("grant_type", "client_credentials"), ("scope", "introspection")]).await;
        let user = auth_only.user_token("static@example.com").await;
        let address = auth_only.auth.address.clone();
        let rs_db = shared_core::testing::TestDatabase::create(backend, "rs_static");
        let mut settings = rs_settings(&rs_db.url, &address);
        settings.auth.client_secret = "not-the-secret".into();
        settings.auth.introspection_token = machine;
        let server = TestResourceServer::start(settings).await;
        let response = auth_only.http.get(server.url("/items/")).bearer_auth(&user).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
}
