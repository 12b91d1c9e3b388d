//! The authorization code at the token endpoint: PKCE, the binding to client and redirect URI, single use
//! (a second use revokes what the first issued), public clients.

use auth_server::service::admin::ClientSpec;
use auth_server::service::client_auth::{ClientCredentials, Secret};
use auth_server::service::grants;
use auth_server::startup::start_signing_keys;
use auth_server::state::AppState;
use serde_json::Value;
use shared_core::oauth::TokenRequest;

use crate::browser::*;
use crate::helpers::*;

fn exchange_form<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", WEB_REDIRECT),
        ("code_verifier", verifier),
    ]
}

async fn signed_up(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.web_client(web_profile()).await;
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status(), 201);
    app
}

shared_core::on_both_backends! {
    async fn a_missing_or_wrong_verifier_is_invalid_grant(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        let (verifier, challenge) = pkce_pair();
        let code = browser.code_for(&app, WEB_ID, "ada@example.com", Some(&challenge)).await;
        let missing = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await;
        assert_oauth_error(missing, 400, "invalid_grant").await;
        let (other_verifier, _) = pkce_pair();
        let wrong = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &exchange_form(&code, &other_verifier)).await;
        assert_oauth_error(wrong, 400, "invalid_grant").await;
        // A refused exchange does not burn the code: the rightful client still gets its tokens.
        let right = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &exchange_form(&code, &verifier)).await;
        assert_eq!(right.status(), 200);
    }

    async fn a_code_is_bound_to_its_client_and_redirect_uri(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        let (verifier, challenge) = pkce_pair();
        let code = browser.code_for(&app, WEB_ID, "ada@example.com", Some(&challenge)).await;
        let mut other_uri = exchange_form(&code, &verifier);
        other_uri[2] = ("redirect_uri", "http://localhost:9/other");
        assert_oauth_error(app.post_as("/o/token/", WEB_ID, WEB_SECRET, &other_uri).await, 400, "invalid_grant").await;
        let no_uri: Vec<_> = exchange_form(&code, &verifier).into_iter().filter(|(n, _)| *n != "redirect_uri").collect();
        assert_oauth_error(app.post_as("/o/token/", WEB_ID, WEB_SECRET, &no_uri).await, 400, "invalid_request").await;
        app.register(ClientSpec { client_id: Some("web-two".into()), secret: Some("two-secret".into()), public: false, profile: web_profile() }).await;
        let stolen = app.post_as("/o/token/", "web-two", "two-secret", &exchange_form(&code, &verifier)).await;
        assert_oauth_error(stolen, 400, "invalid_grant").await;
        let not_code_client = app.post_as("/o/token/", RS_ID, RS_SECRET, &exchange_form(&code, &verifier)).await;
        assert_oauth_error(not_code_client, 400, "unauthorized_client").await;
        let unknown = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &exchange_form("no-such-code", &verifier)).await;
        assert_oauth_error(unknown, 400, "invalid_grant").await;
        let body: Value = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &exchange_form(&code, &verifier)).await.json().await.unwrap();
        assert!(body["id_token"].is_string() && body["refresh_token"].is_string(), "{body}");
    }

    async fn a_second_use_of_a_code_revokes_every_token_it_issued(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        let (verifier, challenge) = pkce_pair();
        let code = browser.code_for(&app, WEB_ID, "ada@example.com", Some(&challenge)).await;
        let first: Value = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &exchange_form(&code, &verifier)).await.json().await.unwrap();
        let access = str_of(&first, "access_token");
        let refresh = str_of(&first, "refresh_token");
        assert!(app.is_active(access).await);
        let refreshed: Value = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await.json().await.unwrap();

        let second = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &exchange_form(&code, &verifier)).await;
        assert_oauth_error(second, 400, "invalid_grant").await;
        assert!(!app.is_active(access).await, "the first exchange's access token is revoked");
        assert!(!app.is_active(str_of(&refreshed, "access_token")).await, "and what its refresh token issued");
        let refresh_again = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &[("grant_type", "refresh_token"), ("refresh_token", str_of(&refreshed, "refresh_token"))]).await;
        assert_oauth_error(refresh_again, 400, "invalid_grant").await;
    }

    async fn a_second_use_revokes_the_access_token_of_a_client_without_refresh_tokens(backend) {
        let app = spawn_app(backend).await;
        app.signup("ada@example.com", PASSWORD).await;
        let mut profile = web_profile();
        profile.grant_types = vec!["authorization_code".into()];
        app.web_client(profile).await;
        let (verifier, challenge) = pkce_pair();
        let code = Browser::new().code_for(&app, WEB_ID, "ada@example.com", Some(&challenge)).await;
        let first: Value = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &exchange_form(&code, &verifier)).await.json().await.unwrap();
        assert!(first.get("refresh_token").is_none());
        let access = str_of(&first, "access_token");
        assert!(app.is_active(access).await);
        assert_oauth_error(app.post_as("/o/token/", WEB_ID, WEB_SECRET, &exchange_form(&code, &verifier)).await, 400, "invalid_grant").await;
        assert!(!app.is_active(access).await);
    }

    async fn a_code_expires_after_its_lifetime(backend) {
        let app = signed_up(backend).await;
        let (verifier, challenge) = pkce_pair();
        let code = Browser::new().code_for(&app, WEB_ID, "ada@example.com", Some(&challenge)).await;
        let keys = start_signing_keys(&app.settings, &app.pool).await.unwrap();
        let state = AppState::new(&app.settings, app.pool.clone(), app.address.clone(), keys).await.unwrap();
        let credentials = ClientCredentials { client_id: WEB_ID.into(), secret: Some(Secret::new(WEB_SECRET.into())) };
        let request = TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some(code),
            redirect_uri: Some(WEB_REDIRECT.into()),
            code_verifier: Some(verifier),
            ..TokenRequest::default()
        };
        let lifetime = app.settings.authorization.code_lifetime_secs;
        assert_eq!(lifetime, 60);
        let late = shared_core::clock::now() + lifetime + 1;
        let refused = grants::exchange(&state, credentials.clone(), request.clone(), late).await.unwrap_err();
        assert!(refused.to_string().contains("expired"), "{refused}");
        let in_time = grants::exchange(&state, credentials, request, shared_core::clock::now()).await.unwrap();
        assert!(in_time.id_token.is_some());
    }

    async fn a_public_client_exchanges_with_its_id_and_verifier_only(backend) {
        let app = spawn_app(backend).await;
        app.signup("ada@example.com", PASSWORD).await;
        let mut profile = web_profile();
        profile.name = "Mobile".into();
        app.register(ClientSpec { client_id: Some("mobile".into()), secret: None, public: true, profile }).await;
        let browser = Browser::new();
        let without_pkce = browser.get(&app.url(&format!("/o/authorize/?response_type=code&client_id=mobile&redirect_uri={WEB_REDIRECT}&state=s"))).await;
        assert_eq!(param(&location(&without_pkce), "error").as_deref(), Some("invalid_request"), "public clients must use PKCE");

        let (verifier, challenge) = pkce_pair();
        let code = browser.code_for(&app, "mobile", "ada@example.com", Some(&challenge)).await;
        let mut form = exchange_form(&code, &verifier);
        form.push(("client_id", "mobile"));
        let response = app.post_form("/o/token/", &form).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert!(body["id_token"].is_string());
    }

    async fn a_confidential_client_created_to_skip_pkce_may_skip_it(backend) {
        let app = spawn_app(backend).await;
        app.signup("ada@example.com", PASSWORD).await;
        let mut profile = web_profile();
        profile.require_pkce = false;
        profile.skip_consent = true;
        app.web_client(profile).await;
        let browser = Browser::new();
        let code = browser.code_for(&app, WEB_ID, "ada@example.com", None).await;
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", WEB_REDIRECT)];
        let (verifier, _) = pkce_pair();
        let with_verifier = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &exchange_form(&code, &verifier)).await;
        assert_oauth_error(with_verifier, 400, "invalid_grant").await;
        assert_eq!(app.post_as("/o/token/", WEB_ID, WEB_SECRET, &form).await.status(), 200);
    }
}
