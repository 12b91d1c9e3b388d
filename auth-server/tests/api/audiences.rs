//! Audiences (RFC 8707 resource indicators): registered resources, the `resource` parameter of token
//! requests, clients limited to some audiences, and `aud` in introspection answers and JWTs.

use auth_server::service::registration::AccessTokenFormat;
use auth_server::settings::BootstrapResource;
use serde_json::Value;

use crate::helpers::*;

const API: &str = "https://api.example.com";
const BILLING: &str = "https://billing.example.com";

/// The tutorial's client (in `format`, limited to `audiences`) and two resources: API (read, write) and
/// BILLING (read).
async fn spawn_with_resources(backend: Backend, format: AccessTokenFormat, audiences: &[&str]) -> TestApp {
    spawn_app_with(backend, |settings| {
        let resource = |identifier: &str, scopes: &[&str]| BootstrapResource {
            identifier: identifier.into(),
            name: None,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        settings.resources.insert("api".into(), resource(API, &["read", "write"]));
        settings.resources.insert("billing".into(), resource(BILLING, &["read"]));
        let tutorial = settings.clients.get_mut("tutorial").unwrap();
        tutorial.access_token_format = format;
        tutorial.audiences = audiences.iter().map(|a| (*a).to_owned()).collect();
    })
    .await
}

async fn restricted_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |settings| {
        settings.introspection.restrict_to_audience = true;
        let scopes = ["read", "write", "introspection"].map(String::from).to_vec();
        settings.resources.insert("api".into(), BootstrapResource { identifier: API.into(), name: None, scopes });
        settings.clients.get_mut("tutorial").unwrap().audiences = vec![API.into()];
    })
    .await
}

async fn token_body(app: &TestApp, form: &[(&str, &str)]) -> Value {
    let response = app.post_as_rs("/o/token/", form).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

shared_core::on_both_backends! {
    async fn a_token_for_a_registered_resource_carries_it_as_aud_and_a_refresh_keeps_it(backend) {
        let app = spawn_with_resources(backend, AccessTokenFormat::Opaque, &[]).await;
        assert_eq!(app.signup("aud@example.com", PASSWORD).await.status(), 201);
        let form = [("grant_type", "password"), ("username", "aud@example.com"), ("password", PASSWORD), ("resource", API)];
        let body = token_body(&app, &form).await;
        assert_eq!(app.introspect(str_of(&body, "access_token")).await["aud"], API);
        let refreshed: Value = app.refresh(str_of(&body, "refresh_token")).await.json().await.unwrap();
        assert_eq!(app.introspect(str_of(&refreshed, "access_token")).await["aud"], API, "a refresh keeps the audience");

        let default = app.client_credentials("read").await;
        assert_eq!(app.introspect(&default).await["aud"], app.url(""), "no resource: the default audience, the issuer");
        let machine = token_body(&app, &[("grant_type", "client_credentials"), ("scope", "read"), ("resource", BILLING)]).await;
        assert_eq!(app.introspect(str_of(&machine, "access_token")).await["aud"], BILLING);
    }

    async fn a_jwt_for_a_resource_names_it_in_aud(backend) {
        let app = spawn_with_resources(backend, AccessTokenFormat::Jwt, &[]).await;
        let body = token_body(&app, &[("grant_type", "client_credentials"), ("scope", "read write"), ("resource", API)]).await;
        let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(str_of(&body, "access_token")).unwrap().claims;
        assert_eq!(claims["aud"], API);
        assert_eq!(app.introspect(str_of(&body, "access_token")).await["aud"], API);
    }

    async fn unknown_malformed_forbidden_or_too_wide_targets_are_refused(backend) {
        let app = spawn_with_resources(backend, AccessTokenFormat::Opaque, &[]).await;
        let cc = |resource: &'static str, scope: &'static str| [("grant_type", "client_credentials"), ("scope", scope), ("resource", resource)];
        assert_oauth_error(app.post_as_rs("/o/token/", &cc("https://nowhere.example.com", "read")).await, 400, "invalid_target").await;
        assert_oauth_error(app.post_as_rs("/o/token/", &cc("not a uri", "read")).await, 400, "invalid_target").await;
        assert_oauth_error(app.post_as_rs("/o/token/", &cc("https://api.example.com#x", "read")).await, 400, "invalid_target").await;
        assert_oauth_error(app.post_as_rs("/o/token/", &cc(BILLING, "write")).await, 400, "invalid_scope").await;

        let limited = spawn_with_resources(backend, AccessTokenFormat::Opaque, &[API]).await;
        assert_oauth_error(limited.post_as_rs("/o/token/", &cc(BILLING, "read")).await, 400, "invalid_target").await;
        assert_eq!(limited.post_as_rs("/o/token/", &cc(API, "read")).await.status(), 200);
    }
    async fn restricted_introspection_tells_a_caller_only_about_tokens_for_its_audiences(backend) {
        let app = restricted_app(backend).await;
        let cc = |resource: Option<&'static str>, scope: &'static str| {
            let mut form = vec![("grant_type", "client_credentials"), ("scope", scope)];
            form.extend(resource.map(|r| ("resource", r)));
            form
        };
        let for_api = token_body(&app, &cc(Some(API), "read")).await;
        let for_api = str_of(&for_api, "access_token");
        let default = token_body(&app, &cc(None, "read")).await;
        let default = str_of(&default, "access_token");
        // rs-id acts for API only: the default-audience token is none of its business.
        assert_eq!(app.introspect(for_api).await["active"], true);
        assert_eq!(app.introspect(default).await, serde_json::json!({"active": false}));

        // A bearer acts for the audience of its own token.
        let bearer = token_body(&app, &cc(Some(API), "introspection")).await;
        let ask = |token: &str| {
            app.http.post(app.url("/o/introspect/")).bearer_auth(str_of(&bearer, "access_token")).form(&[("token", token.to_owned())]).send()
        };
        assert_eq!(ask(for_api).await.unwrap().json::<Value>().await.unwrap()["active"], true);
        assert_eq!(ask(default).await.unwrap().json::<Value>().await.unwrap()["active"], false);
    }
}
