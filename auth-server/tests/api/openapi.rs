use serde_json::Value;

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn every_documented_operation_is_served(backend) {
        let app = spawn_app(backend).await;
        let document: Value = app.get("/openapi.json").await.json().await.unwrap();
        assert!(document["openapi"].as_str().unwrap().starts_with("3."));
        let paths = document["paths"].as_object().unwrap();
        for expected in ["/o/token/", "/o/introspect/", "/o/revoke_token/", "/users/signup/", "/users/password/", "/.well-known/oauth-authorization-server", "/health/live", "/health/ready"] {
            assert!(paths.contains_key(expected), "{expected} is not documented");
        }
        for (path, operations) in paths {
            for method in operations.as_object().unwrap().keys() {
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let status = app.http.request(method.clone(), app.url(path)).send().await.unwrap().status();
                assert!(status != 404 && status != 405, "{method} {path} is documented but answers {status}");
                let documented: Vec<&String> = operations[method.as_str().to_lowercase()]["responses"].as_object().unwrap().keys().collect();
                assert!(documented.contains(&&status.as_u16().to_string()), "{method} {path}: {status} is not among {documented:?}");
            }
        }
    }
}
