//! The account proxies pass the auth server's status and body through.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn proxied_errors_keep_the_auth_servers_status_and_body(backend) {
        let system = spawn_system(backend).await;
        let weak = system.http.post(system.url("/users/signup/")).json(&json!({"email": "w@example.com", "password": "password123", "password2": "password123"})).send().await.unwrap();
        assert_eq!(weak.status(), 400);
        assert_eq!(weak.json::<Value>().await.unwrap(), json!({"password": ["This password is too common."]}));

        system.signup("p@example.com").await;
        let wrong = system.http.post(system.url("/users/token/")).json(&json!({"email": "p@example.com", "password": "wrong-password"})).send().await.unwrap();
        assert_error(wrong, 400, "invalid_grant").await;
        let bad_refresh = system.http.post(system.url("/users/token/refresh/")).json(&json!({"refresh": "junk"})).send().await.unwrap();
        assert_error(bad_refresh, 400, "invalid_grant").await;
    }

    async fn proxies_validate_their_own_bodies(backend) {
        let system = spawn_system(backend).await;
        let missing = system.http.post(system.url("/users/token/")).json(&json!({"email": "x@example.com"})).send().await.unwrap();
        assert_eq!(missing.status(), 400);
        assert_eq!(missing.json::<Value>().await.unwrap(), json!({"password": ["This field is required."]}));
        let refresh = system.http.post(system.url("/users/token/refresh/")).json(&json!({})).send().await.unwrap();
        assert_eq!(refresh.json::<Value>().await.unwrap(), json!({"refresh": ["This field is required."]}));
        let text = system.http.post(system.url("/users/token/")).header("content-type", "text/plain").body("x").send().await.unwrap();
        assert_error(text, 415, "invalid_request").await;
        let malformed = system.http.post(system.url("/users/signup/")).header("content-type", "application/json").body("{").send().await.unwrap();
        assert_error(malformed, 400, "invalid_request").await;
    }

    async fn a_password_change_needs_a_bearer_token(backend) {
        let system = spawn_system(backend).await;
        let anonymous = system.http.put(system.url("/users/password/")).json(&json!({})).send().await.unwrap();
        let headers = assert_error(anonymous, 401, "invalid_request").await;
        assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        let junk = system.send(Method::PUT, "/users/password/", "junk", json!({"old_password": "a", "password": "b", "password2": "b"})).await;
        assert_error(junk, 401, "invalid_token").await;
    }
}
