use serde_json::Value;

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn liveness_and_readiness_answer_ok(backend) {
        let app = spawn_app(backend).await;
        let live = app.get("/health/live").await;
        assert_eq!(live.status(), 200);
        let ready = app.get("/health/ready").await;
        assert_eq!(ready.status(), 200);
        assert_eq!(ready.json::<Value>().await.unwrap()["database"], "ok");
    }

    async fn metadata_lists_the_endpoints_grants_and_scopes(backend) {
        let app = spawn_app(backend).await;
        let response = app.get("/.well-known/oauth-authorization-server").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["issuer"], app.address);
        assert_eq!(body["token_endpoint"], app.url("/o/token/"));
        assert_eq!(body["introspection_endpoint"], app.url("/o/introspect/"));
        assert_eq!(body["revocation_endpoint"], app.url("/o/revoke_token/"));
        let grants: Vec<&str> = body["grant_types_supported"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(grants, ["authorization_code", "password", "refresh_token", "client_credentials"]);
        assert!(body["scopes_supported"].as_array().unwrap().contains(&Value::from("introspection")));
        assert!(body["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&Value::from("client_secret_basic")));
        assert_eq!(body["authorization_endpoint"], app.url("/o/authorize/"));
        assert_eq!(body["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(body["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(body["authorization_response_iss_parameter_supported"], true);
        let discovery: Value = app.get("/.well-known/openid-configuration").await.json().await.unwrap();
        assert_eq!(discovery, body, "one document for RFC 8414 and OpenID Connect Discovery");
        assert_eq!(discovery["jwks_uri"], app.url("/o/jwks/"));
        assert_eq!(discovery["userinfo_endpoint"], app.url("/o/userinfo/"));
        assert_eq!(discovery["end_session_endpoint"], app.url("/o/logout/"));
        assert_eq!(discovery["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
    }

    async fn unknown_paths_and_wrong_methods_get_json_errors(backend) {
        let app = spawn_app(backend).await;
        let missing = app.get("/nope").await;
        assert_eq!(missing.status(), 404);
        assert!(missing.json::<Value>().await.unwrap()["error"].is_string());
        let get_introspect = app.get("/o/introspect/").await;
        assert_oauth_error(get_introspect, 405, "invalid_request").await;
        let get_token = app.get("/o/token").await;
        assert_eq!(get_token.status(), 405);
    }

    async fn paths_work_with_and_without_the_trailing_slash(backend) {
        let app = spawn_app(backend).await;
        for path in ["/o/token/", "/o/token"] {
            let response = app.post_as_rs(path, &[("grant_type", "client_credentials")]).await;
            assert_eq!(response.status(), 200, "{path}");
        }
        for path in ["/users/signup/", "/users/signup"] {
            let response = app.http.post(app.url(path)).json(&serde_json::json!({})).send().await.unwrap();
            assert_eq!(response.status(), 400, "{path}");
        }
    }
}
