use serde_json::{json, Value};

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn an_active_user_token_is_described_in_full(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("intro@example.com").await;
        let body = app.introspect(str_of(&tokens, "access_token")).await;
        assert_eq!(body["active"], true);
        assert_eq!(body["scope"], "read write");
        assert_eq!(body["client_id"], RS_ID);
        assert_eq!(body["username"], "intro@example.com");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["iss"], app.address);
        assert!(body["sub"].as_str().is_some_and(|s| !s.is_empty()));
        let (iat, exp) = (body["iat"].as_i64().unwrap(), body["exp"].as_i64().unwrap());
        assert_eq!(exp - iat, 3600);
    }

    async fn the_subject_is_stable_across_tokens(backend) {
        let app = spawn_app(backend).await;
        let first = app.user_with_tokens("stable@example.com").await;
        let second = app.password_grant("stable@example.com", PASSWORD).await;
        let a = app.introspect(str_of(&first, "access_token")).await;
        let b = app.introspect(str_of(&second, "access_token")).await;
        assert_eq!(a["sub"], b["sub"]);
    }

    async fn unknown_tokens_and_refresh_tokens_are_only_active_false(backend) {
        let app = spawn_app(backend).await;
        assert_eq!(app.introspect("no-such-token").await, json!({"active": false}));
        let tokens = app.user_with_tokens("refresh@example.com").await;
        assert_eq!(app.introspect(str_of(&tokens, "refresh_token")).await, json!({"active": false}));
    }

    async fn client_credentials_tokens_carry_no_user(backend) {
        let app = spawn_app(backend).await;
        let token = app.client_credentials("read").await;
        let body = app.introspect(&token).await;
        assert_eq!(body["active"], true);
        assert!(body.get("username").is_none() && body.get("sub").is_none());
    }

    async fn a_bearer_token_with_the_introspection_scope_may_introspect(backend) {
        let app = spawn_app(backend).await;
        let machine = app.client_credentials("introspection").await;
        let tokens = app.user_with_tokens("bearer@example.com").await;
        let response = app.http.post(app.url("/o/introspect/")).bearer_auth(&machine)
            .form(&[("token", str_of(&tokens, "access_token"))]).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap()["username"], "bearer@example.com");
    }

    async fn a_user_token_cannot_introspect(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("nosy@example.com").await;
        let user_token = str_of(&tokens, "access_token");
        let response = app.http.post(app.url("/o/introspect/")).bearer_auth(user_token)
            .form(&[("token", user_token)]).send().await.unwrap();
        let headers = assert_oauth_error(response, 403, "insufficient_scope").await;
        assert!(headers["www-authenticate"].to_str().unwrap().contains("scope=\"introspection\""));
        let junk = app.http.post(app.url("/o/introspect/")).bearer_auth("junk").form(&[("token", "x")]).send().await.unwrap();
        let headers = assert_oauth_error(junk, 401, "invalid_token").await;
        assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    }

    async fn a_client_without_the_introspection_scope_is_forbidden(backend) {
        let app = spawn_app(backend).await;
        app.create_client("plain", Some("plain-secret"), "client_credentials", "read").await;
        let response = app.post_as("/o/introspect/", "plain", "plain-secret", &[("token", "x")]).await;
        assert_oauth_error(response, 403, "unauthorized_client").await;
    }

    async fn missing_or_wrong_credentials_are_401_and_a_missing_token_is_400(backend) {
        let app = spawn_app(backend).await;
        let anonymous = app.post_form("/o/introspect/", &[("token", "x")]).await;
        let headers = assert_oauth_error(anonymous, 401, "invalid_client").await;
        assert!(headers.contains_key("www-authenticate"));
        let wrong = app.post_as("/o/introspect/", RS_ID, "wrong", &[("token", "x")]).await;
        assert_oauth_error(wrong, 401, "invalid_client").await;
        let body_credentials = app.post_form("/o/introspect/", &[("token", "x"), ("client_id", RS_ID), ("client_secret", RS_SECRET)]).await;
        assert_eq!(body_credentials.status(), 200);
        let no_token = app.post_as_rs("/o/introspect/", &[("token_type_hint", "access_token")]).await;
        assert_oauth_error(no_token, 400, "invalid_request").await;
    }
}
