//! `GET /metrics` on the resource server: requests by route pattern (never the item's id), the token cache
//! and introspection; off, or on a private port only. The recorder is global to this test process (which
//! also runs auth servers): assertions compare sums.

use shared_core::testing::metric_sum;

use crate::helpers::*;

async fn metrics_text(system: &System, url: String) -> String {
    let response = system.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

shared_core::on_both_backends! {
    async fn metrics_count_item_requests_by_route_pattern_and_show_the_token_cache_at_work(backend) {
        let system = spawn_system(backend).await;
        let before = metrics_text(&system, system.url("/metrics")).await;
        let token = system.user_token("metrics@example.com").await;
        let item = system.create_item(&token, "counted").await;
        let id = item["id"].as_i64().unwrap();
        for path in [format!("/items/{id}/"), format!("/items/{id}")] {
            assert_eq!(system.get(&path, &token).await.status(), 200);
        }
        for _ in 0..2 {
            assert_error(system.get("/items/", "no-such-token").await, 401, "invalid_token").await;
        }

        let after = metrics_text(&system, system.url("/metrics")).await;
        let grew = |name: &str, labels: &[(&str, &str)]| {
            let (was, is) = (metric_sum(&before, name, labels).unwrap_or(0.0), metric_sum(&after, name, labels));
            assert!(is.is_some_and(|is| is > was), "{name} {labels:?}: {was} -> {is:?}\n{after}");
        };
        grew("http_requests_total", &[("route", "/items/{id}/"), ("method", "GET"), ("status", "200")]);
        grew("http_requests_total", &[("route", "/items/"), ("method", "POST"), ("status", "201")]);
        grew("http_request_duration_seconds_count", &[("route", "/items/{id}/"), ("method", "GET")]);
        assert!(!after.contains(&format!("/items/{id}")), "no item id is a label:\n{after}");
        grew("resource_server_token_cache_hits_total", &[]);
        grew("resource_server_token_cache_misses_total", &[]);
        grew("resource_server_token_cache_negative_hits_total", &[]);
        grew("resource_server_introspection_duration_seconds_count", &[]);
        for name in ["resource_server_token_cache_stale_served_total", "resource_server_token_cache_entries"] {
            assert!(metric_sum(&after, name, &[]).is_some(), "{name} is reported");
        }
        assert!(metric_sum(&after, "resource_server_revocation_stream_state", &[("state", "live")]).is_some());
        assert!(metric_sum(&after, "db_pool_acquire_wait_seconds_count", &[]).is_some_and(|n| n > 0.0));
    }

    async fn metrics_turned_off_are_not_served(backend) {
        let system = spawn_system_with(backend, |s| s.metrics.enabled = false).await;
        let response = system.http.get(system.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }

    async fn metrics_with_a_listen_address_are_served_there_and_not_on_the_public_port(backend) {
        let system = spawn_system_with(backend, |s| s.metrics.listen = "127.0.0.1:0".into()).await;
        let port = system.rs_metrics_port.expect("a private metrics port");
        assert_eq!(system.http.get(system.url("/metrics")).send().await.unwrap().status(), 404);
        let text = metrics_text(&system, format!("http://127.0.0.1:{port}/metrics")).await;
        assert!(text.contains("resource_server_token_cache_hits_total"), "{text}");
    }
}
