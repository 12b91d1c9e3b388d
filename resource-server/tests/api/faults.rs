//! An auth server that hangs, a database that drops its connections, hostile input: the resource server
//! answers from what it has, or 4xx/503 at once, and never makes a caller wait in line behind another.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::Method;
use resource_server::error::{Error, UpstreamError};
use resource_server::introspection::{BreakerState, Validation};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// `future`'s outcome, as long as it does not wait for the (hung) auth server: were it to, it would wait
/// for the whole introspection timeout these tests set (a minute), far beyond this bound.
async fn without_waiting<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future).await.expect("answered without waiting for the auth server")
}

fn is_active(validation: &Result<Validation, Error>) -> bool {
    matches!(validation, Ok(Validation::Active(_)))
}

shared_core::on_both_backends! {
    async fn a_due_entry_is_served_at_once_while_another_callers_introspection_hangs(backend) {
        let system = spawn_system_with(backend, |s| {
            s.auth.timeout_ms = 60_000;
            s.cache.ttl_secs = 5;
            s.cache.revalidate_wait_ms = 60_000; // the first caller keeps waiting, so the others can be seen not to
        })
        .await;
        let token = system.user_token("hang@example.com").await;
        let tokens = &system.rs_app_state.tokens;
        let t0 = Instant::now();
        assert!(is_active(&tokens.validate(&token, t0).await));

        system.proxy.hang();
        let due = t0 + Duration::from_secs(6); // past the 5 s TTL, within the 60 s grace
        let first = tokio::spawn({
            let state = system.rs_app_state.clone();
            let token = token.clone();
            async move { state.tokens.validate(&token, due).await.map(|_| ()) }
        });
        // Until the first caller's introspection is out, a caller may start its own; after, none waits.
        let mut served = 0;
        while served < 5 {
            tokio::task::yield_now().await;
            if tokens.introspections_in_flight() == 1 {
                assert!(is_active(&without_waiting(tokens.validate(&token, due)).await), "served from the due entry");
                served += 1;
            }
        }
        assert!(!first.is_finished(), "the first caller is still waiting for the hung auth server");
        system.proxy.pass();
        first.await.unwrap().unwrap();
        assert_eq!(tokens.introspections_in_flight(), 0);
    }

    async fn the_caller_renewing_a_due_entry_waits_no_longer_than_revalidate_wait(backend) {
        let system = spawn_system_with(backend, |s| {
            s.auth.timeout_ms = 60_000;
            s.cache.ttl_secs = 5;
            s.cache.revalidate_wait_ms = 100;
        })
        .await;
        let token = system.user_token("patience@example.com").await;
        let tokens = &system.rs_app_state.tokens;
        let t0 = Instant::now();
        assert!(is_active(&tokens.validate(&token, t0).await));
        system.proxy.hang();
        let due = t0 + Duration::from_secs(6);
        assert!(is_active(&without_waiting(tokens.validate(&token, due)).await), "answered from the due entry");
        assert_eq!(tokens.introspections_in_flight(), 1, "while its renewal is still out");
        system.proxy.pass();
    }

    async fn an_open_circuit_refuses_unseen_tokens_at_once_serves_cached_ones_and_closes_after_a_probe(backend) {
        let system = spawn_system_with(backend, |s| {
            s.auth.timeout_ms = 300;
            s.cache.ttl_secs = 5;
            s.auth.breaker_failures = 2;
            s.auth.breaker_open_ms = 10_000;
        }).await;
        let cached = system.user_token("cached@example.com").await;
        let unseen = system.user_token("unseen@example.com").await;
        let tokens = &system.rs_app_state.tokens;
        let t0 = Instant::now();
        assert!(is_active(&tokens.validate(&cached, t0).await));

        system.proxy.hang();
        let later = t0 + Duration::from_secs(6);
        for junk in ["junk-1", "junk-2"] {
            let timed_out = tokens.validate(junk, later).await;
            assert!(matches!(timed_out, Err(Error::Introspection(ref e)) if matches!(**e, Error::AuthServer(_))), "{timed_out:?}");
        }
        assert_eq!(tokens.breaker_state(), BreakerState::Open);
        // Open: no call is even attempted for a token without a usable entry...
        let refused = without_waiting(tokens.validate(&unseen, later)).await;
        assert!(matches!(refused, Err(Error::AuthServer(UpstreamError::CircuitOpen))), "{refused:?}");
        // ...and a due entry is served within its grace.
        assert!(is_active(&without_waiting(tokens.validate(&cached, later)).await));
        let ready: Value = system.http.get(system.url("/health/ready")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["introspection_circuit"], "open");

        // Once the open period is over, one probe decides; the auth server answers again.
        system.proxy.pass();
        let after = later + Duration::from_secs(11); // the failures finished ~300 ms after `later`
        let probe = tokens.validate(&unseen, after).await;
        assert!(is_active(&probe), "{probe:?}");
        assert_eq!(tokens.breaker_state(), BreakerState::Closed);
    }

    async fn beyond_the_cap_on_introspections_in_flight_unseen_tokens_get_503_at_once(backend) {
        let system = spawn_system_with(backend, |s| {
            s.auth.timeout_ms = 60_000;
            s.auth.max_concurrent_introspections = 1;
        })
        .await;
        let tokens = &system.rs_app_state.tokens;
        system.proxy.hang();
        let now = Instant::now();
        let first = tokio::spawn({
            let state = system.rs_app_state.clone();
            async move { state.tokens.validate("unseen-1", now).await.map(|_| ()) }
        });
        while tokens.introspections_in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        let refused = without_waiting(tokens.validate("unseen-2", now)).await;
        assert!(matches!(refused, Err(Error::AuthServer(UpstreamError::Saturated))), "{refused:?}");
        system.proxy.pass();
        assert!(first.await.unwrap().is_ok(), "the first is answered (inactive) once the auth server answers");
    }

    async fn an_oversized_or_malformed_bearer_token_is_refused_locally(backend) {
        let system = spawn_system(backend).await;
        let before = system.auth.introspections();
        let oversized = "a".repeat(shared_core::oauth::MAX_BEARER_TOKEN_BYTES + 1);
        assert_error(system.get("/items/", &oversized).await, 401, "invalid_token").await;
        let two_words = system.http.get(system.url("/items/")).header("authorization", "Bearer a b").send().await.unwrap();
        assert_error(two_words, 401, "invalid_token").await;
        let change = system.http.put(system.url("/users/password/")).bearer_auth(&oversized).json(&json!({})).send().await.unwrap();
        assert_error(change, 401, "invalid_token").await;
        assert_eq!(system.auth.introspections(), before, "nothing was sent to the auth server");
    }

    async fn nul_and_control_characters_in_items_are_field_errors(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("nul@example.com").await;
        let response = system.send(Method::POST, "/items/", &token, json!({"name": "a\u{0}b", "description": "bell\u{7}", "price": 1})).await;
        assert_eq!(response.status(), 400);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({
            "name": ["Null characters are not allowed."],
            "description": ["Control characters are not allowed."],
        }));
        let lines = system.send(Method::POST, "/items/", &token, json!({"name": "Lines", "description": "one\ntwo", "price": 1})).await;
        assert_eq!(lines.status(), 201);
    }

    async fn a_json_body_must_be_an_object_and_login_fields_refuse_control_characters(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("shapes@example.com").await;
        let positional = system.send(Method::POST, "/items/", &token, json!(["Positional", "from an array", "1.50"])).await;
        assert_error(positional, 400, "invalid_request").await;
        let login = system.http.post(system.url("/users/token/")).json(&json!({"email": "shapes@example.com", "password": "tab\there"})).send().await.unwrap();
        assert_eq!(login.status(), 400);
        assert_eq!(login.json::<Value>().await.unwrap(), json!({"password": ["Control characters are not allowed."]}));
    }

    async fn every_405_names_the_methods_the_resource_allows(backend) {
        let system = spawn_system(backend).await;
        for (method, path, allow) in [
            (Method::DELETE, "/items/", "GET, HEAD, POST"),
            (Method::POST, "/items/1/", "GET, HEAD, PUT, PATCH, DELETE"),
            (Method::GET, "/users/token/", "POST"),
            (Method::GET, "/users/password", "PUT"),
        ] {
            let response = system.http.request(method.clone(), system.url(path)).send().await.unwrap();
            assert_eq!(response.headers().get("allow").map(|v| v.to_str().unwrap()), Some(allow), "{method} {path}");
            assert_error(response, 405, "invalid_request").await;
        }
    }

    async fn a_body_that_arrives_too_slowly_gets_408_and_its_connection_is_closed(backend) {
        let system = spawn_system_with(backend, |s| s.http.body_timeout_ms = 200).await;
        let port: u16 = system.rs.rsplit(':').next().unwrap().parse().unwrap();
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let head = "POST /users/signup/ HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                    Content-Length: 100\r\n\r\n{\"email\":";
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await.expect("closed").unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }

    async fn lost_database_connections_answer_503_at_worst_and_the_pool_heals(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("heal@example.com").await;
        let item = system.create_item(&token, "Healing").await;
        let path = format!("/items/{}/", item["id"]);
        system.rs_db.terminate_connections();
        let mut statuses = Vec::new();
        for _ in 0..=4 {
            statuses.push(system.get(&path, &token).await.status().as_u16());
        }
        assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "{statuses:?}");
        assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    }
}
