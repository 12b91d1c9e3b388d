//! Items: scopes, ownership, validation, ids, duplicate names.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn reading_needs_read_and_writing_needs_write(backend) {
        let system = spawn_system(backend).await;
        system.signup("scope@example.com").await;
        let read_only = system.auth_token(&[("grant_type", "password"), ("username", "scope@example.com"), ("password", PASSWORD), ("scope", "read")]).await;
        assert_eq!(system.get("/items/", &read_only).await.status(), 200);
        let refused = system.send(Method::POST, "/items/", &read_only, json!({"name": "n", "description": "d", "price": 1})).await;
        let headers = assert_error(refused, 403, "insufficient_scope").await;
        assert_eq!(headers["www-authenticate"], "Bearer realm=\"resource-server\", error=\"insufficient_scope\", scope=\"write\"");
        let write_only = system.auth_token(&[("grant_type", "password"), ("username", "scope@example.com"), ("password", PASSWORD), ("scope", "write")]).await;
        assert_error(system.get("/items/", &write_only).await, 403, "insufficient_scope").await;
    }

    async fn a_token_without_a_user_is_refused_on_every_items_endpoint(backend) {
        let system = spawn_system(backend).await;
        let machine = system.auth_token(&[("grant_type", "client_credentials")]).await;
        let headers = assert_error(system.get("/items/", &machine).await, 403, "insufficient_scope").await;
        // RFC 6750 §3: the challenge comes with every refusal of a presented token.
        assert_eq!(headers["www-authenticate"], r#"Bearer realm="resource-server", error="insufficient_scope""#);
        assert_error(system.get("/items/1/", &machine).await, 403, "insufficient_scope").await;
        let create = system.send(Method::POST, "/items/", &machine, json!({"name": "n", "description": "d", "price": 1})).await;
        assert_error(create, 403, "insufficient_scope").await;
        assert_error(system.send(Method::DELETE, "/items/1/", &machine, json!({})).await, 403, "insufficient_scope").await;
    }

    async fn missing_and_invalid_tokens_get_rfc_6750_challenges(backend) {
        let system = spawn_system(backend).await;
        let anonymous = system.http.get(system.url("/items/")).send().await.unwrap();
        let headers = assert_error(anonymous, 401, "invalid_request").await;
        assert_eq!(headers["www-authenticate"], "Bearer realm=\"resource-server\"");
        let junk = system.get("/items/", "junk").await;
        let headers = assert_error(junk, 401, "invalid_token").await;
        assert_eq!(headers["www-authenticate"], "Bearer realm=\"resource-server\", error=\"invalid_token\"");
        let basic = system.http.get(system.url("/items/")).basic_auth("a", Some("b")).send().await.unwrap();
        assert_error(basic, 401, "invalid_request").await;
    }

    async fn only_the_owner_may_change_or_delete_an_item(backend) {
        let system = spawn_system(backend).await;
        let owner = system.user_token("owner@example.com").await;
        let other = system.user_token("other@example.com").await;
        let item = system.create_item(&owner, "Owned").await;
        let path = format!("/items/{}/", item["id"]);
        assert_eq!(system.get(&path, &other).await.status(), 200, "anyone may read");
        let put = system.send(Method::PUT, &path, &other, json!({"name": "Stolen", "description": "d", "price": 1})).await;
        assert_error(put, 403, "access_denied").await;
        let patch = system.send(Method::PATCH, &path, &other, json!({"name": ""})).await;
        assert_error(patch, 403, "access_denied").await;
        assert_error(system.send(Method::DELETE, &path, &other, json!({})).await, 403, "access_denied").await;
        assert_eq!(system.get(&path, &owner).await.json::<Value>().await.unwrap(), item);
    }

    async fn ids_that_are_not_items_are_404(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("ids@example.com").await;
        for path in ["/items/999/", "/items/abc/", "/items/0/", "/items/-1/", "/items/99999999999999999999999/", "/items/1.5/"] {
            assert_error(system.get(path, &token).await, 404, "not_found").await;
        }
        assert_error(system.send(Method::DELETE, "/items/999/", &token, json!({})).await, 404, "not_found").await;
        assert_error(system.send(Method::PATCH, "/items/abc/", &token, json!({})).await, 404, "not_found").await;
    }

    async fn validation_errors_use_drfs_shape(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("valid@example.com").await;
        let long_name = "n".repeat(51);
        let response = system.send(Method::POST, "/items/", &token, json!({"name": long_name, "description": "", "price": -1})).await;
        assert_eq!(response.status(), 400);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({
            "name": ["Ensure this field has no more than 50 characters."],
            "description": ["This field may not be blank."],
            "price": ["Ensure this value is greater than or equal to 0."],
        }));
        let response = system.send(Method::POST, "/items/", &token, json!({"name": "ok"})).await;
        let errors: Value = response.json().await.unwrap();
        assert_eq!(errors, json!({"description": ["This field is required."], "price": ["This field is required."]}));
        // 50 multi-byte characters are fine: lengths count characters.
        let unicode = system.send(Method::POST, "/items/", &token, json!({"name": "ü".repeat(50), "description": "ä".repeat(250), "price": "0"})).await;
        assert_eq!(unicode.status(), 201);
    }

    async fn prices_are_exact_and_always_two_decimals(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("price@example.com").await;
        for (i, (input, expected)) in [(json!(12.5), "12.50"), (json!("0.1"), "0.10"), (json!(7), "7.00"), (json!("999999999999.99"), "999999999999.99"), (json!(0.07), "0.07")].into_iter().enumerate() {
            let response = system.send(Method::POST, "/items/", &token, json!({"name": format!("p{i}"), "description": "d", "price": input})).await;
            assert_eq!(response.status(), 201, "{input}");
            assert_eq!(response.json::<Value>().await.unwrap()["price"], expected, "{input}");
        }
        for (i, (input, message)) in [
            (json!("1.234"), "Ensure that there are no more than 2 decimal places."),
            (json!(1e13), "Ensure that there are no more than 12 digits before the decimal point."),
            (json!("abc"), "A valid number is required."),
            (json!(true), "A valid number is required."),
        ].into_iter().enumerate() {
            let response = system.send(Method::POST, "/items/", &token, json!({"name": format!("bad{i}"), "description": "d", "price": input})).await;
            assert_eq!(response.status(), 400);
            assert_eq!(response.json::<Value>().await.unwrap(), json!({"price": [message]}), "{input}");
        }
    }

    async fn a_duplicate_name_is_a_field_error_even_when_requests_race(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("dup@example.com").await;
        system.create_item(&token, "Unique").await;
        let again = system.send(Method::POST, "/items/", &token, json!({"name": "Unique", "description": "d", "price": 1})).await;
        assert_eq!(again.status(), 400);
        assert_eq!(again.json::<Value>().await.unwrap(), json!({"name": ["item with this name already exists."]}));

        let racers = (0..8).map(|_| system.send(Method::POST, "/items/", &token, json!({"name": "Raced", "description": "d", "price": 1})));
        let statuses: Vec<u16> = futures_util::future::join_all(racers).await.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 7, "{statuses:?}");

        let other = system.create_item(&token, "Other").await;
        let rename = system.send(Method::PATCH, &format!("/items/{}/", other["id"]), &token, json!({"name": "Unique"})).await;
        assert_eq!(rename.json::<Value>().await.unwrap(), json!({"name": ["item with this name already exists."]}));
    }

    async fn malformed_unsupported_and_oversized_bodies_are_4xx(backend) {
        let system = spawn_system(backend).await;
        let token = system.user_token("body@example.com").await;
        let malformed = system.http.post(system.url("/items/")).bearer_auth(&token).header("content-type", "application/json").body("{\"name\":").send().await.unwrap();
        assert_error(malformed, 400, "invalid_request").await;
        let xml = system.http.post(system.url("/items/")).bearer_auth(&token).header("content-type", "application/xml").body("<a/>").send().await.unwrap();
        assert_error(xml, 415, "invalid_request").await;
        let huge = json!({"name": "x", "description": "y".repeat(70 * 1024), "price": 1});
        assert_error(system.send(Method::POST, "/items/", &token, huge).await, 413, "invalid_request").await;
        let form = system.http.post(system.url("/items/")).bearer_auth(&token).form(&[("name", "Formed"), ("description", "d"), ("price", "3.5")]).send().await.unwrap();
        assert_eq!(form.status(), 201);
        assert_eq!(form.json::<Value>().await.unwrap()["price"], "3.50");
    }
}
