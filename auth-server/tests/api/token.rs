use serde_json::Value;

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn the_password_grant_issues_bearer_and_refresh_tokens_with_no_store(backend) {
        let app = spawn_app(backend).await;
        app.signup("pat@example.com", PASSWORD).await;
        let response = app
            .post_as_rs("/o/token/", &[("grant_type", "password"), ("username", "pat@example.com"), ("password", PASSWORD)])
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "read write");
        assert_eq!(str_of(&body, "access_token").len(), 43);
        assert_eq!(str_of(&body, "refresh_token").len(), 43);
    }

    async fn client_credentials_in_the_body_work_like_basic(backend) {
        let app = spawn_app(backend).await;
        app.signup("body@example.com", PASSWORD).await;
        let form = [
            ("grant_type", "password"), ("username", "BODY@example.com"), ("password", PASSWORD),
            ("client_id", RS_ID), ("client_secret", RS_SECRET),
        ];
        let response = app.post_form("/o/token/", &form).await;
        assert_eq!(response.status(), 200);
    }

    async fn a_wrong_password_or_unknown_user_is_invalid_grant(backend) {
        let app = spawn_app(backend).await;
        app.signup("kim@example.com", PASSWORD).await;
        let wrong = app.post_as_rs("/o/token/", &[("grant_type", "password"), ("username", "kim@example.com"), ("password", "nope-nope-nope")]).await;
        assert_oauth_error(wrong, 400, "invalid_grant").await;
        let unknown = app.post_as_rs("/o/token/", &[("grant_type", "password"), ("username", "ghost@example.com"), ("password", PASSWORD)]).await;
        assert_oauth_error(unknown, 400, "invalid_grant").await;
    }

    async fn a_bad_client_is_401_invalid_client_with_a_basic_challenge(backend) {
        let app = spawn_app(backend).await;
        let wrong_secret = app.post_as("/o/token/", RS_ID, "wrong", &[("grant_type", "client_credentials")]).await;
        let headers = assert_oauth_error(wrong_secret, 401, "invalid_client").await;
        assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));
        let unknown = app.post_as("/o/token/", "nobody", "x", &[("grant_type", "client_credentials")]).await;
        assert_oauth_error(unknown, 401, "invalid_client").await;
        let body_wrong = app.post_form("/o/token/", &[("grant_type", "client_credentials"), ("client_id", RS_ID), ("client_secret", "bad")]).await;
        assert_oauth_error(body_wrong, 401, "invalid_client").await;
        let none = app.post_form("/o/token/", &[("grant_type", "client_credentials")]).await;
        assert_oauth_error(none, 401, "invalid_client").await;
    }

    async fn request_errors_follow_rfc_6749(backend) {
        let app = spawn_app(backend).await;
        let missing = app.post_as_rs("/o/token/", &[("scope", "read")]).await;
        assert_oauth_error(missing, 400, "invalid_request").await;
        let unsupported = app.post_as_rs("/o/token/", &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")]).await;
        assert_oauth_error(unsupported, 400, "unsupported_grant_type").await;
        let repeated = app.http.post(app.url("/o/token/")).basic_auth(RS_ID, Some(RS_SECRET))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&grant_type=client_credentials").send().await.unwrap();
        assert_oauth_error(repeated, 400, "invalid_request").await;
        let two_methods = app.post_as_rs("/o/token/", &[("grant_type", "client_credentials"), ("client_secret", RS_SECRET)]).await;
        assert_oauth_error(two_methods, 400, "invalid_request").await;
        let json = app.http.post(app.url("/o/token/")).basic_auth(RS_ID, Some(RS_SECRET))
            .json(&serde_json::json!({"grant_type": "client_credentials"})).send().await.unwrap();
        assert_oauth_error(json, 400, "invalid_request").await;
        let bare = app.http.post(app.url("/o/token/")).basic_auth(RS_ID, Some(RS_SECRET)).send().await.unwrap();
        assert_oauth_error(bare, 400, "invalid_request").await;
        let no_password = app.post_as_rs("/o/token/", &[("grant_type", "password"), ("username", "a@example.com")]).await;
        assert_oauth_error(no_password, 400, "invalid_request").await;
        let no_refresh = app.post_as_rs("/o/token/", &[("grant_type", "refresh_token")]).await;
        assert_oauth_error(no_refresh, 400, "invalid_request").await;
    }

    async fn scopes_are_bounded_by_the_client_and_introspection_is_machine_only(backend) {
        let app = spawn_app(backend).await;
        app.signup("scope@example.com", PASSWORD).await;
        let read_only = app.post_as_rs("/o/token/", &[("grant_type", "password"), ("username", "scope@example.com"), ("password", PASSWORD), ("scope", "read")]).await;
        assert_eq!(read_only.json::<Value>().await.unwrap()["scope"], "read");
        let beyond = app.post_as_rs("/o/token/", &[("grant_type", "password"), ("username", "scope@example.com"), ("password", PASSWORD), ("scope", "read admin")]).await;
        assert_oauth_error(beyond, 400, "invalid_scope").await;
        let user_introspection = app.post_as_rs("/o/token/", &[("grant_type", "password"), ("username", "scope@example.com"), ("password", PASSWORD), ("scope", "read introspection")]).await;
        assert_oauth_error(user_introspection, 400, "invalid_scope").await;
        let machine = app.post_as_rs("/o/token/", &[("grant_type", "client_credentials"), ("scope", "introspection")]).await;
        assert_eq!(machine.json::<Value>().await.unwrap()["scope"], "introspection");
    }

    async fn client_credentials_tokens_have_no_refresh_token_and_default_scopes(backend) {
        let app = spawn_app(backend).await;
        let response = app.post_as_rs("/o/token/", &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert!(body.get("refresh_token").is_none());
        assert_eq!(body["scope"], "read write");
    }

    async fn a_client_may_only_use_its_own_grants(backend) {
        let app = spawn_app(backend).await;
        app.create_client("cc-only", Some("cc-secret"), "client_credentials", "read").await;
        app.create_client("spa", None, "password", "read").await;
        app.signup("grant@example.com", PASSWORD).await;
        let refused = app.post_as("/o/token/", "cc-only", "cc-secret", &[("grant_type", "password"), ("username", "grant@example.com"), ("password", PASSWORD)]).await;
        assert_oauth_error(refused, 400, "unauthorized_client").await;
        // A public client authenticates with its id alone, gets no refresh token, and cannot use client_credentials.
        let public_login = app.post_form("/o/token/", &[("grant_type", "password"), ("username", "grant@example.com"), ("password", PASSWORD), ("client_id", "spa")]).await;
        assert_eq!(public_login.status(), 200);
        let body: Value = public_login.json().await.unwrap();
        assert_eq!(body["scope"], "read");
        assert!(body.get("refresh_token").is_none());
        let public_cc = app.post_form("/o/token/", &[("grant_type", "client_credentials"), ("client_id", "spa")]).await;
        assert_oauth_error(public_cc, 400, "unauthorized_client").await;
        let public_with_secret = app.post_form("/o/token/", &[("grant_type", "password"), ("username", "grant@example.com"), ("password", PASSWORD), ("client_id", "spa"), ("client_secret", "x")]).await;
        assert_oauth_error(public_with_secret, 401, "invalid_client").await;
    }

    async fn oversized_token_requests_get_413(backend) {
        let app = spawn_app(backend).await;
        let big = "a".repeat(65 * 1024);
        let response = app.post_as_rs("/o/token/", &[("grant_type", "client_credentials"), ("scope", &big)]).await;
        assert_oauth_error(response, 413, "invalid_request").await;
    }
}
