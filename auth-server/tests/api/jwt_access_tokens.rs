//! JWT access tokens (RFC 9068) for clients whose `access_token_format` is `jwt`: their shape, their
//! signature against the published JWKS, and introspection and revocation working as for opaque tokens.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::browser::*;
use crate::helpers::*;

/// The tutorial's client, issuing JWTs (set the way an operator would: its bootstrap setting).
async fn spawn_jwt_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |settings| {
        let tutorial = settings.clients.get_mut("tutorial").unwrap();
        tutorial.access_token_format = auth_server::service::registration::AccessTokenFormat::Jwt;
    })
    .await
}

/// The token's header and claims, after checking its signature with the server's JWKS.
async fn verified(app: &TestApp, token: &str) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwks: JwkSet = app.get("/o/jwks/").await.json().await.unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("the kid is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[app.url("")]);
    validation.set_issuer(&[app.url("")]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud", "jti"]);
    let claims =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).unwrap().claims;
    (header, claims)
}

shared_core::on_both_backends! {
    async fn a_jwt_clients_tokens_are_rfc_9068_jwts_signed_with_the_published_keys(backend) {
        let app = spawn_jwt_app(backend).await;
        let body = app.user_with_tokens("jwt@example.com").await;
        let token = str_of(&body, "access_token");
        assert_eq!(body["expires_in"], 300, "jwt access tokens live tokens.jwt_access_token_lifetime_secs");
        let (header, claims) = verified(&app, token).await;
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let introspected = app.introspect(token).await;
        assert_eq!(introspected["active"], true);
        assert_eq!(claims["sub"], introspected["sub"], "sub is the user's stable id");
        assert_eq!(claims["client_id"], RS_ID);
        assert_eq!(claims["scope"], "read write");
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 43, "a 256-bit jti");
        assert!(claims.get("auth_time").is_none(), "no sign-in behind a password grant token");
        assert_eq!(introspected["exp"], claims["exp"]);
        assert_eq!(introspected["aud"], claims["aud"], "introspection reports the same audience");

        let refreshed: Value = app.refresh(str_of(&body, "refresh_token")).await.json().await.unwrap();
        let (_, renewed) = verified(&app, str_of(&refreshed, "access_token")).await;
        assert_eq!(renewed["sub"], claims["sub"], "a refreshed token names the same user");
        assert_ne!(renewed["jti"], claims["jti"]);
        assert!(!app.is_active(token).await, "rotation retires the previous access token, JWT or not");
    }

    async fn a_client_credentials_jwt_names_the_client_and_revocation_ends_it(backend) {
        let app = spawn_jwt_app(backend).await;
        let token = app.client_credentials("read").await;
        let (_, claims) = verified(&app, &token).await;
        assert_eq!(claims["sub"], RS_ID, "RFC 9068 §2.2: without a user, sub is the client");
        assert_eq!(claims["scope"], "read");
        let introspected = app.introspect(&token).await;
        assert_eq!(introspected["active"], true);
        assert!(introspected.get("sub").is_none(), "introspection still says no user");

        assert_eq!(app.post_as_rs("/o/revoke_token/", &[("token", &token)]).await.status(), 200);
        assert!(!app.is_active(&token).await, "a revoked JWT introspects inactive");
    }

    async fn a_code_flow_jwt_carries_auth_time_and_matches_the_id_tokens_at_hash(backend) {
        let app = spawn_app(backend).await;
        let profile = web_profile();
        app.web_client(auth_server::service::registration::ClientProfile {
            access_token_format: auth_server::service::registration::AccessTokenFormat::Jwt,
            ..profile
        })
        .await;
        assert_eq!(app.signup("ada@example.com", PASSWORD).await.status(), 201);
        let (verifier, challenge) = pkce_pair();
        let code = Browser::new().code_for(&app, WEB_ID, "ada@example.com", Some(&challenge)).await;
        let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT), ("code_verifier", &verifier)];
        let body: Value = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &form).await.json().await.unwrap();
        let (_, claims) = verified(&app, str_of(&body, "access_token")).await;
        let id_token = jsonwebtoken::dangerous::insecure_decode::<Value>(str_of(&body, "id_token")).unwrap().claims;
        assert_eq!(claims["auth_time"], id_token["auth_time"]);
        assert_eq!(id_token["at_hash"], auth_server::service::oidc::at_hash(str_of(&body, "access_token")));
        assert_eq!(claims["sub"], id_token["sub"]);
        assert_eq!(claims["client_id"], WEB_ID);
        assert_eq!(claims["scope"], "openid read");
    }

    async fn opaque_stays_the_default(backend) {
        let app = spawn_app(backend).await;
        let token = app.client_credentials("read").await;
        assert_eq!(token.len(), 43);
        assert!(jsonwebtoken::decode_header(&token).is_err());
    }
}
