//! The grants, introspection and revocation called as plain functions, without HTTP, with the clock as an
//! input: what a token's lifetime means is checked to the second.

use auth_server::service::client_auth::{ClientCredentials, Secret};
use auth_server::service::grants;
use auth_server::service::introspection::{self, Caller};
use auth_server::service::revocation;
use auth_server::startup::{prepare_database, start_signing_keys};
use auth_server::state::AppState;
use auth_server::Settings;
use shared_core::oauth::{IntrospectionResponse, TokenRequest};
use shared_core::testing::TestDatabase;

use crate::helpers::*;

const T0: i64 = 1_800_000_000;

async fn state(backend: Backend) -> (AppState, TestDatabase) {
    let db = TestDatabase::create(backend, "services");
    let settings = Settings::for_tests(&db.url);
    let pool = prepare_database(&settings).await.unwrap();
    let keys = start_signing_keys(&settings, &pool).await.unwrap();
    (AppState::new(&settings, pool, "https://issuer.test".into(), keys).await.unwrap(), db)
}

fn tutorial() -> ClientCredentials {
    ClientCredentials { client_id: RS_ID.into(), secret: Some(Secret::new(RS_SECRET.into())) }
}

fn grant(grant_type: &str, scope: Option<&str>) -> TokenRequest {
    TokenRequest { grant_type: Some(grant_type.into()), scope: scope.map(Into::into), ..TokenRequest::default() }
}

async fn introspect_at(state: &AppState, token: &str, now: i64) -> IntrospectionResponse {
    introspection::introspect(state, Caller::Client(tutorial()), token.into(), now).await.unwrap()
}

shared_core::on_both_backends! {
    async fn an_access_token_is_active_until_the_second_it_expires(backend) {
        let (state, _db) = state(backend).await;
        let issued = grants::exchange(&state, tutorial(), grant("client_credentials", Some("read")), T0).await.unwrap();
        assert_eq!(issued.expires_in, 3600);
        let answer = introspect_at(&state, &issued.access_token, T0 + 3599).await;
        assert!(answer.active);
        assert_eq!((answer.iat, answer.exp), (Some(T0), Some(T0 + 3600)));
        assert_eq!(answer.iss.as_deref(), Some("https://issuer.test"));
        assert_eq!(introspect_at(&state, &issued.access_token, T0 + 3600).await, IntrospectionResponse::inactive());
    }

    async fn a_revoked_token_is_inactive_from_then_on(backend) {
        let (state, _db) = state(backend).await;
        let issued = grants::exchange(&state, tutorial(), grant("client_credentials", None), T0).await.unwrap();
        revocation::revoke(&state, tutorial(), issued.access_token.clone(), None, T0 + 10).await.unwrap();
        assert!(!introspect_at(&state, &issued.access_token, T0 + 11).await.active);
    }

    async fn an_expired_refresh_token_is_refused_and_a_reused_one_ends_its_family(backend) {
        let (state, _db) = state(backend).await;
        let signup = shared_core::account::SignupRequest {
            email: Some("clock@example.com".into()),
            password: Some(PASSWORD.into()),
            password2: Some(PASSWORD.into()),
        };
        auth_server::service::accounts::signup(&state, signup, T0).await.unwrap();
        let login = TokenRequest {
            username: Some("clock@example.com".into()),
            password: Some(PASSWORD.into()),
            ..grant("password", None)
        };
        let first = grants::exchange(&state, tutorial(), login, T0).await.unwrap();
        let refresh = |token: &str| TokenRequest { refresh_token: Some(token.into()), ..grant("refresh_token", None) };
        let lifetime = state.policy.refresh_token_lifetime;
        let expired = grants::exchange(&state, tutorial(), refresh(first.refresh_token.as_deref().unwrap()), T0 + lifetime).await;
        assert!(matches!(expired, Err(auth_server::error::Error::OAuth { .. })), "expired at T0 + lifetime");

        let second = grants::exchange(&state, tutorial(), refresh(first.refresh_token.as_deref().unwrap()), T0 + 1).await.unwrap();
        assert!(introspect_at(&state, &second.access_token, T0 + 2).await.active);
        let reused = grants::exchange(&state, tutorial(), refresh(first.refresh_token.as_deref().unwrap()), T0 + 2).await;
        assert!(reused.is_err());
        assert!(!introspect_at(&state, &second.access_token, T0 + 3).await.active, "the family is revoked");
    }
}
