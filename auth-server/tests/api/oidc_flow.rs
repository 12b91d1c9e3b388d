//! The whole code flow driven by a relying-party library no one here wrote (the `openidconnect` crate):
//! discovery, the authorization URL with PKCE, nonce and state, the login and consent forms over real HTTP,
//! the code exchange, the id_token verified by the library against the JWKS, userinfo, refresh.

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::browser::*;
use crate::helpers::*;

/// openidconnect's HTTP client trait, over reqwest 0.13 (the library's own adapter is for 0.12).
async fn http_client(request: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let (parts, body) = request.into_parts();
    let response = client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
    let mut answer = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    Ok(answer.body(response.bytes().await?.to_vec()).unwrap())
}

shared_core::on_both_backends! {
    async fn an_openid_connect_library_signs_a_user_in_with_the_code_flow(backend) {
        let app = spawn_app(backend).await;
        app.web_client(web_profile()).await;
        assert_eq!(app.signup("ada@example.com", PASSWORD).await.status(), 201);

        let issuer = IssuerUrl::new(app.address.clone()).unwrap();
        let metadata = CoreProviderMetadata::discover_async(issuer, &http_client).await.unwrap();
        let client = CoreClient::from_provider_metadata(metadata, ClientId::new(WEB_ID.into()), Some(ClientSecret::new(WEB_SECRET.into())))
            .set_redirect_uri(RedirectUrl::new(WEB_REDIRECT.into()).unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (authorize_url, state, nonce) = client
            .authorize_url(AuthenticationFlow::<CoreResponseType>::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("read".into()))
            .set_pkce_challenge(challenge)
            .url();

        // The login page, then the consent page, then back to the client.
        let browser = Browser::new();
        let login = browser.get(authorize_url.as_str()).await;
        assert_eq!(login.status(), 200);
        let login_page = login.text().await.unwrap();
        assert!(login_page.contains("Web App"), "the login page names the client");
        let consent = browser.sign_in(&app, &login_page, "ada@example.com").await;
        assert_eq!(consent.status(), 200);
        let consent_page = consent.text().await.unwrap();
        assert!(consent_page.contains("Read your items"), "scopes are described from the catalogue: {consent_page}");
        let back = browser.submit(&app.url("/o/authorize/"), &consent_page, &[("action", "allow")]).await;
        let redirect = location(&back);
        assert!(redirect.as_str().starts_with(WEB_REDIRECT));
        assert_eq!(param(&redirect, "state").as_deref(), Some(state.secret().as_str()));
        assert_eq!(param(&redirect, "iss").as_deref(), Some(app.address.as_str()), "RFC 9207");
        let code = param(&redirect, "code").unwrap();

        // The library exchanges the code and verifies the id_token's signature, issuer, audience and nonce.
        let tokens = client.exchange_code(AuthorizationCode::new(code)).unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http_client).await.unwrap();
        let id_token = tokens.id_token().expect("an id_token with the openid scope");
        let verifier = client.id_token_verifier();
        let claims = id_token.claims(&verifier, &nonce).unwrap();
        assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.com"));
        assert_ne!(claims.subject().as_str(), "ada@example.com", "sub is never the email");
        assert!(claims.auth_time().is_some());
        let expected_hash = claims.access_token_hash().expect("at_hash");
        let actual_hash = AccessTokenHash::from_token(tokens.access_token(), id_token.signing_alg().unwrap(), id_token.signing_key(&verifier).unwrap()).unwrap();
        assert_eq!(expected_hash, &actual_hash);
        let granted: Vec<String> = tokens.scopes().unwrap().iter().map(|s| s.to_string()).collect();
        assert_eq!(granted, ["email", "openid", "read"]);

        let userinfo: CoreUserInfoClaims = client.user_info(tokens.access_token().clone(), None).unwrap()
            .request_async(&http_client).await.unwrap();
        assert_eq!(userinfo.subject(), claims.subject());
        assert_eq!(userinfo.email().map(|e| e.as_str()), Some("ada@example.com"));

        let refreshed = client.exchange_refresh_token(tokens.refresh_token().unwrap()).unwrap()
            .request_async(&http_client).await.unwrap();
        assert_ne!(refreshed.access_token().secret(), tokens.access_token().secret());
        assert!(app.is_active(refreshed.access_token().secret()).await);
        assert!(!app.is_active(tokens.access_token().secret()).await, "refresh rotates exactly as for the password grant");
        let reused = app.post_as(
            "/o/token/",
            WEB_ID,
            WEB_SECRET,
            &[("grant_type", "refresh_token"), ("refresh_token", tokens.refresh_token().unwrap().secret())],
        ).await;
        assert_oauth_error(reused, 400, "invalid_grant").await;
    }

    async fn a_second_authorization_needs_no_password_and_remembers_consent(backend) {
        let app = spawn_app(backend).await;
        app.web_client(web_profile()).await;
        app.signup("ada@example.com", PASSWORD).await;
        let browser = Browser::new();
        let (_, challenge) = pkce_pair();
        let url = app.url(&format!("/o/authorize/?response_type=code&client_id={WEB_ID}&redirect_uri={WEB_REDIRECT}&scope=openid%20read&code_challenge={challenge}&code_challenge_method=S256&state=one"));
        let login_page = browser.get(&url).await.text().await.unwrap();
        let consent_page = browser.sign_in(&app, &login_page, "ada@example.com").await.text().await.unwrap();
        let first = browser.submit(&app.url("/o/authorize/"), &consent_page, &[("action", "allow")]).await;
        assert!(param(&location(&first), "code").is_some());

        let again = browser.get(&url).await;
        let redirect = location(&again);
        assert!(param(&redirect, "code").is_some(), "signed in and allowed before: straight back with a code");
        let narrower = browser.get(&url.replace("openid%20read", "read")).await;
        assert!(param(&location(&narrower), "code").is_some(), "a subset of what was allowed needs no consent");
        let wider = browser.get(&url.replace("openid%20read", "openid%20read%20email")).await;
        assert_eq!(wider.status(), 200, "a new scope asks again");
        assert!(wider.text().await.unwrap().contains("csrfmiddlewaretoken"));
        let forced = browser.get(&format!("{url}&prompt=consent")).await;
        assert_eq!(forced.status(), 200, "prompt=consent asks again");
        let relogin = browser.get(&format!("{url}&prompt=login")).await;
        assert!(relogin.text().await.unwrap().contains(r#"name="password""#), "prompt=login asks for the password");
    }
}
