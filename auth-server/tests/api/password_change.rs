use serde_json::{json, Value};

use crate::helpers::*;

const NEW_PASSWORD: &str = "another-long-phrase";

async fn change(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http.put(app.url("/users/password/")).bearer_auth(token).json(&body).send().await.unwrap()
}

shared_core::on_both_backends! {
    async fn a_password_change_ends_every_other_session(backend) {
        let app = spawn_app(backend).await;
        let used = app.user_with_tokens("pw@example.com").await;
        let other = app.password_grant("pw@example.com", PASSWORD).await;
        let body = json!({"old_password": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD});
        let response = change(&app, str_of(&used, "access_token"), body).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({}));

        assert!(app.is_active(str_of(&used, "access_token")).await, "the token used stays valid");
        assert!(!app.is_active(str_of(&other, "access_token")).await);
        assert_oauth_error(app.refresh(str_of(&used, "refresh_token")).await, 400, "invalid_grant").await;
        assert_oauth_error(app.refresh(str_of(&other, "refresh_token")).await, 400, "invalid_grant").await;

        let old = app.post_as_rs("/o/token/", &[("grant_type", "password"), ("username", "pw@example.com"), ("password", PASSWORD)]).await;
        assert_oauth_error(old, 400, "invalid_grant").await;
        app.password_grant("pw@example.com", NEW_PASSWORD).await;
    }

    async fn a_wrong_old_password_is_a_field_error(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("old@example.com").await;
        let body = json!({"old_password": "not-my-password", "password": NEW_PASSWORD, "password2": NEW_PASSWORD});
        let response = change(&app, str_of(&tokens, "access_token"), body).await;
        assert_eq!(response.status(), 400);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({"old_password": ["Wrong password."]}));
    }

    async fn the_new_password_is_validated(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("val@example.com").await;
        let body = json!({"old_password": PASSWORD, "password": "password123", "password2": "password1234"});
        let response = change(&app, str_of(&tokens, "access_token"), body).await;
        assert_eq!(response.status(), 400);
        let errors: Value = response.json().await.unwrap();
        assert_eq!(errors["password"], json!(["This password is too common."]));
        assert_eq!(errors["password2"], json!(["Password fields didn't match."]));
    }

    async fn a_password_change_needs_a_users_bearer_token(backend) {
        let app = spawn_app(backend).await;
        let body = json!({"old_password": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD});
        let anonymous = app.http.put(app.url("/users/password/")).json(&body).send().await.unwrap();
        let headers = assert_oauth_error(anonymous, 401, "invalid_request").await;
        assert_eq!(headers["www-authenticate"], "Bearer realm=\"auth-server\"");
        let junk = change(&app, "junk", body.clone()).await;
        let headers = assert_oauth_error(junk, 401, "invalid_token").await;
        assert!(headers["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
        let machine = app.client_credentials("read").await;
        assert_oauth_error(change(&app, &machine, body).await, 403, "insufficient_scope").await;
    }
}
