//! Where the resource server finds the auth server's endpoints: discovery, explicit URLs, and account calls
//! that the auth server in use does not have.

use std::net::TcpListener;

use serde_json::{json, Value};
use shared_core::testing::TestDatabase;

use crate::helpers::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

shared_core::on_both_backends! {
    async fn discovery_reads_the_endpoints_and_waits_for_the_auth_server_to_come_up(backend) {
        let (auth_db, rs_db) = (TestDatabase::create(backend, "auth"), TestDatabase::create(backend, "rs"));
        let port = free_port();
        let issuer = format!("http://127.0.0.1:{port}");
        let mut settings = rs_settings(&rs_db.url, &issuer);
        settings.auth.discovery = true;
        // The resource server starts first: its first attempts find nothing listening and are retried.
        let resource_server = actix_rt::spawn(TestResourceServer::start(settings));
        let mut auth_settings = auth_server::Settings::for_tests(&auth_db.url);
        auth_settings.http.port = port;
        let auth = TestAuthServer::start(auth_settings).await;
        let rs = resource_server.await.unwrap();

        let endpoints = rs.state.auth.endpoints().clone();
        assert_eq!(endpoints.issuer, issuer);
        assert_eq!(endpoints.introspection, format!("{issuer}/o/introspect/"));
        assert_eq!(endpoints.token, format!("{issuer}/o/token/"));
        assert_eq!(endpoints.health, format!("{issuer}/.well-known/oauth-authorization-server"));

        let http = reqwest::Client::new();
        let signup = json!({"email": "d@example.com", "password": PASSWORD, "password2": PASSWORD});
        assert_eq!(http.post(rs.url("/users/signup/")).json(&signup).send().await.unwrap().status(), 201);
        let login = http.post(rs.url("/users/token/")).json(&json!({"email": "d@example.com", "password": PASSWORD})).send().await.unwrap();
        let token = login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        let before = auth.introspections();
        assert_eq!(http.get(rs.url("/items/")).bearer_auth(&token).send().await.unwrap().status(), 200);
        assert_eq!(auth.introspections(), before + 1, "the token was introspected at the discovered endpoint");
        let ready = http.get(rs.url("/health/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{:?}", ready.text().await);
    }

    async fn a_discovery_document_naming_another_issuer_is_refused_at_start_up(backend) {
        let (auth_db, rs_db) = (TestDatabase::create(backend, "auth"), TestDatabase::create(backend, "rs"));
        let mut auth_settings = auth_server::Settings::for_tests(&auth_db.url);
        auth_settings.issuer = "https://sso.example.com".into();
        let auth = TestAuthServer::start(auth_settings).await;
        let mut settings = rs_settings(&rs_db.url, &auth.address);
        settings.auth.discovery = true;
        let error = resource_server::Application::build(settings).await.err().expect("start-up fails");
        let message = shared_core::report::Chain(&*error).to_string();
        assert!(message.contains("names the issuer \"https://sso.example.com\""), "{message}");
    }

    async fn explicit_urls_are_used_and_account_calls_the_auth_server_lacks_answer_501(backend) {
        let (auth_db, rs_db) = (TestDatabase::create(backend, "auth"), TestDatabase::create(backend, "rs"));
        let auth = TestAuthServer::start(auth_server::Settings::for_tests(&auth_db.url)).await;
        // base_url names a place without this project's account endpoints (as another auth server would be);
        // introspection, token and health are reached through their own URLs.
        let mut settings = rs_settings(&rs_db.url, &auth.url("/elsewhere"));
        settings.auth.introspection_url = auth.url("/o/introspect/");
        settings.auth.token_url = auth.url("/o/token/");
        settings.auth.health_url = auth.url("/health/live");
        let rs = TestResourceServer::start(settings).await;
        let http = reqwest::Client::new();

        let signup = json!({"email": "x@example.com", "password": PASSWORD, "password2": PASSWORD});
        let refused = http.post(rs.url("/users/signup/")).json(&signup).send().await.unwrap();
        let body = refused.text().await.unwrap();
        assert!(body.contains("\"error\":\"not_implemented\"") && body.contains("no signup endpoint"), "{body}");
        assert_eq!(http.post(auth.url("/users/signup/")).json(&signup).send().await.unwrap().status(), 201);

        let login = http.post(rs.url("/users/token/")).json(&json!({"email": "x@example.com", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(login.status(), 200, "the token proxy goes to auth.token_url");
        let token = login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(http.get(rs.url("/items/")).bearer_auth(&token).send().await.unwrap().status(), 200);

        let change = json!({"old_password": PASSWORD, "password": "another-Passw0rd", "password2": "another-Passw0rd"});
        let password = http.put(rs.url("/users/password/")).bearer_auth(&token).json(&change).send().await.unwrap();
        assert_error(password, 501, "not_implemented").await;
        assert_eq!(http.get(rs.url("/health/ready")).send().await.unwrap().status(), 200);
    }
}
