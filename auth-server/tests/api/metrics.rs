//! `GET /metrics`: requests by route pattern, tokens by grant and client, introspections by result; off,
//! or on a private port only. The recorder is global to this test process: assertions compare sums.

use shared_core::testing::metric_sum;

use crate::helpers::*;

async fn metrics_text(http: &reqwest::Client, url: String) -> String {
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    response.text().await.unwrap()
}

shared_core::on_both_backends! {
    async fn metrics_count_tokens_by_grant_and_client_and_requests_by_route_pattern(backend) {
        let app = spawn_app(backend).await;
        let before = metrics_text(&app.http, app.url("/metrics")).await;
        let issued = [("grant_type", "client_credentials"), ("client_id", RS_ID)];
        let token = app.client_credentials("read").await;
        assert!(app.is_active(&token).await);
        assert!(!app.is_active("not-a-token").await);
        let refused = app.post_as("/o/introspect/", RS_ID, "wrong-secret", &[("token", &token)]).await;
        assert_eq!(refused.status(), 401);
        assert_eq!(app.get("/no/such/path/4711").await.status(), 404);

        let after = metrics_text(&app.http, app.url("/metrics")).await;
        let grew = |name: &str, labels: &[(&str, &str)]| {
            let (was, is) = (metric_sum(&before, name, labels).unwrap_or(0.0), metric_sum(&after, name, labels));
            assert!(is.is_some_and(|is| is > was), "{name} {labels:?}: {was} -> {is:?}\n{after}");
        };
        grew("auth_server_tokens_issued_total", &issued);
        for result in ["active", "inactive", "refused"] {
            grew("auth_server_introspections_total", &[("result", result)]);
        }
        grew("http_requests_total", &[("route", "/o/token/"), ("method", "POST"), ("status", "200")]);
        grew("http_requests_total", &[("route", "/o/introspect/"), ("status", "401")]);
        grew("http_requests_total", &[("route", "unmatched"), ("method", "GET"), ("status", "404")]);
        grew("http_request_duration_seconds_count", &[("route", "/o/introspect/"), ("method", "POST")]);
        assert!(after.contains("http_request_duration_seconds_bucket{"), "latency is a histogram");
        assert!(!after.contains("4711"), "no raw path is a label");
        assert!(!after.contains(&token), "no token is a label");
        assert!(metric_sum(&after, "db_pool_connections_in_use", &[]).is_some());
        assert!(metric_sum(&after, "db_pool_acquire_wait_seconds_count", &[]).is_some_and(|n| n > 0.0));
        assert!(metric_sum(&after, "auth_server_bcrypt_wait_seconds_count", &[]).is_some_and(|n| n > 0.0));
        assert!(after.contains("# HELP auth_server_tokens_issued_total "), "described");
    }

    async fn metrics_turned_off_are_not_served(backend) {
        let app = spawn_app_with(backend, |settings| settings.metrics.enabled = false).await;
        assert_eq!(app.get("/metrics").await.status(), 404);
    }

    async fn metrics_with_a_listen_address_are_served_there_and_not_on_the_public_port(backend) {
        let app = spawn_app_with(backend, |settings| settings.metrics.listen = "127.0.0.1:0".into()).await;
        let port = app.metrics_port.expect("a private metrics port");
        assert_ne!(port, app.port);
        assert_eq!(app.get("/metrics").await.status(), 404);
        app.client_credentials("read").await;
        let text = metrics_text(&app.http, format!("http://127.0.0.1:{port}/metrics")).await;
        assert!(metric_sum(&text, "auth_server_tokens_issued_total", &[("client_id", RS_ID)]).is_some(), "{text}");
        let elsewhere = app.http.get(format!("http://127.0.0.1:{port}/health/live")).send().await.unwrap();
        assert_eq!(elsewhere.status(), 404, "the private port serves metrics only");
    }
}
