//! What `/o/authorize/` refuses, and how: on a page when the client or the redirect URI cannot be trusted
//! (never a redirect: no open redirector), otherwise back to the client with `error`, `state` and `iss`.

use crate::browser::*;
use crate::helpers::*;

/// An authorization URL of the web client, with `extra` appended to a valid PKCE request (`scope=openid`
/// unless `extra` names a scope).
fn authorize_url(app: &TestApp, extra: &str) -> String {
    let (_, challenge) = pkce_pair();
    let scope = if extra.contains("scope=") { "" } else { "&scope=openid" };
    app.url(&format!(
        "/o/authorize/?response_type=code&client_id={WEB_ID}&state=xyz&code_challenge={challenge}&code_challenge_method=S256{scope}{extra}"
    ))
}

async fn assert_error_page(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    assert!(response.headers().get("location").is_none(), "an error page never redirects");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    response.text().await.unwrap()
}

/// Asserts a redirect to the web client with `error` (and `state`, `iss`).
fn assert_error_redirect(response: &reqwest::Response, app: &TestApp, error: &str) {
    let redirect = location(response);
    assert!(redirect.as_str().starts_with(WEB_REDIRECT), "{redirect}");
    assert_eq!(param(&redirect, "error").as_deref(), Some(error), "{redirect}");
    assert!(param(&redirect, "error_description").is_some());
    assert_eq!(param(&redirect, "state").as_deref(), Some("xyz"));
    assert_eq!(param(&redirect, "iss").as_deref(), Some(app.address.as_str()));
    assert!(param(&redirect, "code").is_none());
}

shared_core::on_both_backends! {
    async fn an_unregistered_redirect_uri_gets_a_page_never_a_redirect(backend) {
        let app = spawn_app(backend).await;
        app.web_client(web_profile()).await;
        let browser = Browser::new();
        for attempt in [
            "https://evil.example/callback",
            "http://127.0.0.1:9/callback/../evil",
            "http://127.0.0.1:9/callbackx",
            "http://127.0.0.1:9/callback?next=https://evil.example",
            "http://127.0.0.1:9/Callback",
            "http://127.0.0.1:9/callback#x",
            "HTTP://127.0.0.1:9/callback",
        ] {
            let url = authorize_url(&app, &format!("&redirect_uri={}", urlencoding(attempt)));
            let page = assert_error_page(browser.get(&url).await, 400).await;
            assert!(page.contains("not registered"), "{attempt}: {page}");
        }
        let several = authorize_url(&app, "");
        let page = assert_error_page(browser.get(&several).await, 400).await;
        assert!(page.contains("redirect_uri is required"), "two URIs registered: it must be named");
    }

    async fn an_unknown_or_missing_client_gets_a_page(backend) {
        let app = spawn_app(backend).await;
        app.web_client(web_profile()).await;
        let browser = Browser::new();
        let unknown = app.url(&format!("/o/authorize/?response_type=code&client_id=nobody&redirect_uri={WEB_REDIRECT}"));
        assert!(assert_error_page(browser.get(&unknown).await, 400).await.contains("not known"));
        let missing = app.url(&format!("/o/authorize/?response_type=code&redirect_uri={WEB_REDIRECT}"));
        assert_error_page(browser.get(&missing).await, 400).await;
        let repeated = authorize_url(&app, &format!("&redirect_uri={WEB_REDIRECT}&redirect_uri=https://evil.example/"));
        assert!(assert_error_page(browser.get(&repeated).await, 400).await.contains("repeated"));
        // The tutorial's client has no redirect URI: nowhere to send an error.
        let no_uris = app.url(&format!("/o/authorize/?response_type=code&client_id={RS_ID}"));
        assert_error_page(browser.get(&no_uris).await, 400).await;
    }

    async fn other_errors_go_back_to_the_client_with_state_and_iss(backend) {
        let app = spawn_app(backend).await;
        app.web_client(web_profile()).await;
        let browser = Browser::new();
        let to = format!("&redirect_uri={WEB_REDIRECT}");
        let (_, challenge) = pkce_pair();
        let base = format!("/o/authorize/?client_id={WEB_ID}&redirect_uri={WEB_REDIRECT}&state=xyz");
        let cases = [
            (app.url(&format!("{base}&code_challenge={challenge}&code_challenge_method=S256")), "invalid_request"),
            (app.url(&format!("{base}&response_type=token&code_challenge={challenge}&code_challenge_method=S256")), "unsupported_response_type"),
            (authorize_url(&app, &format!("{to}&scope=openid%20write")), "invalid_scope"),
            (authorize_url(&app, &format!("{to}&scope=introspection")), "invalid_scope"),
            (authorize_url(&app, &format!("{to}&prompt=none%20login")), "invalid_request"),
            (authorize_url(&app, &format!("{to}&prompt=bogus")), "invalid_request"),
            (authorize_url(&app, &format!("{to}&max_age=-1")), "invalid_request"),
            (authorize_url(&app, &format!("{to}&response_mode=fragment")), "invalid_request"),
            (authorize_url(&app, &format!("{to}&request=eyJhbGciOiJub25lIn0.e30.")), "request_not_supported"),
            (app.url(&format!("{base}&response_type=code&scope=openid")), "invalid_request"),
            (app.url(&format!("{base}&response_type=code&code_challenge={challenge}&code_challenge_method=plain")), "invalid_request"),
            (app.url(&format!("{base}&response_type=code&code_challenge={challenge}")), "invalid_request"),
            (app.url(&format!("{base}&response_type=code&code_challenge=short&code_challenge_method=S256")), "invalid_request"),
            (app.url(&format!("{base}&response_type=code&code_challenge_method=S256")), "invalid_request"),
        ];
        for (url, error) in cases {
            let response = browser.get(&url).await;
            assert!(response.status().is_redirection(), "{url}: {}", response.status());
            assert_error_redirect(&response, &app, error);
        }
    }

    async fn prompt_none_without_a_session_answers_login_required(backend) {
        let app = spawn_app(backend).await;
        app.web_client(web_profile()).await;
        let response = Browser::new().get(&authorize_url(&app, &format!("&redirect_uri={WEB_REDIRECT}&prompt=none"))).await;
        assert_error_redirect(&response, &app, "login_required");
    }

    async fn a_client_without_the_grant_is_refused_by_redirect(backend) {
        let app = spawn_app(backend).await;
        let mut profile = web_profile();
        profile.grant_types.push("client_credentials".into());
        app.web_client(profile).await;
        app.server.register(auth_server::service::admin::ClientSpec {
            client_id: Some("no-code".into()),
            secret: Some("s".into()),
            public: false,
            profile: auth_server::service::registration::ClientProfile {
                name: "No code".into(),
                grant_types: vec!["client_credentials".into()],
                scopes: vec!["read".into()],
                require_pkce: true,
                ..Default::default()
            },
        }).await;
        let page = Browser::new().get(&app.url("/o/authorize/?response_type=code&client_id=no-code")).await;
        assert_error_page(page, 400).await;
    }

    async fn the_authorize_form_needs_a_form_body(backend) {
        let app = spawn_app(backend).await;
        let json = app.http.post(app.url("/o/authorize/")).json(&serde_json::json!({"client_id": WEB_ID})).send().await.unwrap();
        assert_error_page(json, 400).await;
        let put = app.http.put(app.url("/o/authorize/")).send().await.unwrap();
        let headers = put.headers().clone();
        assert_error_page(put, 405).await;
        assert_eq!(headers["allow"], "GET, POST");
    }
}

/// Percent-encodes a query value.
fn urlencoding(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
