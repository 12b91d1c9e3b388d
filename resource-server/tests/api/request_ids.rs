//! One request id follows a request across both servers: the resource server's lines, its introspection
//! or proxied call, and the auth server's lines all carry it; a server error's body names it.

use serde_json::{json, Value};
use shared_core::testing::{CapturedLine, LogCapture};

use crate::helpers::*;

/// The access lines (both servers write to the same capture here) carrying `id`.
fn access_lines(logs: &LogCapture, id: &str) -> Vec<CapturedLine> {
    logs.lines().into_iter().filter(|line| line.target == "access" && line.request_id.as_deref() == Some(id)).collect()
}

fn has(lines: &[CapturedLine], text: &str) -> bool {
    lines.iter().any(|line| line.message.contains(text))
}

shared_core::on_both_backends! {
    async fn one_request_id_crosses_both_servers_on_introspection_and_proxied_calls(backend) {
        let logs = LogCapture::install();
        let system = spawn_system(backend).await;
        let token = system.user_token("trace@example.com").await;
        let run = shared_core::request_context::new_request_id();

        let id = format!("items-{run}");
        let response = system.http.get(system.url("/items/")).bearer_auth(&token).header("X-Request-Id", &id).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-request-id"], id.as_str());
        let lines = access_lines(logs, &id);
        assert!(has(&lines, "GET /items/ 200"), "the resource server's line: {lines:#?}");
        assert!(has(&lines, "POST /o/introspect/ 200"), "the auth server's line: {lines:#?}");

        let id = format!("login-{run}");
        let login = json!({"email": "trace@example.com", "password": PASSWORD});
        let response = system.http.post(system.url("/users/token/")).json(&login).header("X-Request-Id", &id).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let lines = access_lines(logs, &id);
        assert!(has(&lines, "POST /users/token/ 200") && has(&lines, "POST /o/token/ 200"), "{lines:#?}");
        // Made here when the caller sends none, and passed on all the same.
        let response = system.http.post(system.url("/users/token/")).json(&login).send().await.unwrap();
        let made = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(has(&access_lines(logs, &made), "POST /o/token/ 200"));
    }

    async fn a_server_errors_body_names_the_request_id(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("outage-id@example.com").await;
        // A client error's body stays in the standard shape.
        let body: Value = system.get("/items/", "not-a-token").await.json().await.unwrap();
        assert!(body.get("request_id").is_none(), "{body}");
        system.auth.stop().await;
        let response = system.get("/items/", &token).await;
        assert_eq!(response.status(), 503);
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!((body["error"].as_str(), body["request_id"].as_str()), (Some("temporarily_unavailable"), Some(id.as_str())));
    }
}
