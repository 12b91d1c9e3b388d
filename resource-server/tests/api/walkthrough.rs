//! The tutorial, end to end, through the resource server only.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn the_tutorial_walkthrough_works_through_the_proxies(backend) {
        let system = spawn_system(backend).await;
        // Sign up and log in: the client secret never leaves the resource server.
        let signup = system.signup("walk@example.com").await;
        assert_eq!(signup.status(), 201);
        assert_eq!(signup.json::<Value>().await.unwrap(), json!({"email": "walk@example.com"}));
        let login = system.http.post(system.url("/users/token/")).form(&[("email", "walk@example.com"), ("password", PASSWORD)]).send().await.unwrap();
        assert_eq!(login.status(), 200);
        assert_eq!(login.headers()["cache-control"], "no-store");
        let tokens: Value = login.json().await.unwrap();
        assert!(!tokens.to_string().contains("rs-secret"));

        // Refresh.
        let refreshed = system.http.post(system.url("/users/token/refresh/")).json(&json!({"refresh": tokens["refresh_token"]})).send().await.unwrap();
        assert_eq!(refreshed.status(), 200);
        let tokens: Value = refreshed.json().await.unwrap();
        let access = tokens["access_token"].as_str().unwrap();

        // Change the password with the bearer token.
        let change = system.send(Method::PUT, "/users/password/", access, json!({"old_password": PASSWORD, "password": "a-new-long-phrase", "password2": "a-new-long-phrase"})).await;
        assert_eq!(change.status(), 200);
        assert_eq!(change.json::<Value>().await.unwrap(), json!({}));
        let relogin = system.http.post(system.url("/users/token/")).json(&json!({"email": "walk@example.com", "password": "a-new-long-phrase"})).send().await.unwrap();
        assert_eq!(relogin.status(), 200);

        // Items CRUD with the token used for the change (it stays valid).
        let created = system.send(Method::POST, "/items/", access, json!({"name": "Lamp", "description": "A desk lamp", "price": 19.9})).await;
        assert_eq!(created.status(), 201);
        let item: Value = created.json().await.unwrap();
        assert_eq!(item["name"], "Lamp");
        assert_eq!(item["price"], "19.90");
        assert_eq!(item["user"]["email"], "walk@example.com");
        assert!(item["user"]["id"].is_i64() && item["id"].is_i64());
        let path = format!("/items/{}/", item["id"]);

        let listed: Value = system.get("/items/", access).await.json().await.unwrap();
        assert_eq!(listed, json!([item]));
        let fetched: Value = system.get(&path, access).await.json().await.unwrap();
        assert_eq!(fetched, item);

        let put = system.send(Method::PUT, &path, access, json!({"name": "Lamp 2", "description": "Brighter", "price": "25"})).await;
        assert_eq!(put.status(), 200);
        assert_eq!(put.json::<Value>().await.unwrap()["price"], "25.00");
        let patch = system.send(Method::PATCH, &path, access, json!({"description": "Dimmer"})).await;
        assert_eq!(patch.status(), 200);
        let patched: Value = patch.json().await.unwrap();
        assert_eq!((patched["name"].as_str(), patched["description"].as_str()), (Some("Lamp 2"), Some("Dimmer")));

        let deleted = system.send(Method::DELETE, &path, access, json!({})).await;
        assert_eq!(deleted.status(), 204);
        assert_error(system.get(&path, access).await, 404, "not_found").await;
        // Without the trailing slash too.
        assert_eq!(system.get("/items", access).await.status(), 200);
    }
}
