use serde_json::Value;

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn a_refresh_rotates_the_refresh_token_and_retires_the_old_access_token(backend) {
        let app = spawn_app(backend).await;
        let first = app.user_with_tokens("rot@example.com").await;
        let response = app.refresh(str_of(&first, "refresh_token")).await;
        assert_eq!(response.status(), 200);
        let second: Value = response.json().await.unwrap();
        assert_ne!(second["refresh_token"], first["refresh_token"]);
        assert_eq!(second["scope"], "read write");
        assert!(!app.is_active(str_of(&first, "access_token")).await);
        assert!(app.is_active(str_of(&second, "access_token")).await);
        // The rotated chain keeps working.
        let third = app.refresh(str_of(&second, "refresh_token")).await;
        assert_eq!(third.status(), 200);
    }

    async fn reusing_a_retired_refresh_token_revokes_the_whole_family(backend) {
        let app = spawn_app(backend).await;
        let first = app.user_with_tokens("reuse@example.com").await;
        let second: Value = app.refresh(str_of(&first, "refresh_token")).await.json().await.unwrap();
        let replay = app.refresh(str_of(&first, "refresh_token")).await;
        assert_oauth_error(replay, 400, "invalid_grant").await;
        assert!(!app.is_active(str_of(&second, "access_token")).await, "the family's access token is revoked");
        let after = app.refresh(str_of(&second, "refresh_token")).await;
        assert_oauth_error(after, 400, "invalid_grant").await;
    }

    async fn unknown_refresh_tokens_and_other_clients_tokens_are_invalid_grant(backend) {
        let app = spawn_app(backend).await;
        let unknown = app.refresh("not-a-token").await;
        assert_oauth_error(unknown, 400, "invalid_grant").await;
        let tokens = app.user_with_tokens("other@example.com").await;
        app.create_client("other", Some("other-secret"), "refresh_token", "read,write").await;
        let stolen = app.post_as("/o/token/", "other", "other-secret", &[("grant_type", "refresh_token"), ("refresh_token", str_of(&tokens, "refresh_token"))]).await;
        assert_oauth_error(stolen, 400, "invalid_grant").await;
        // The owner can still use it.
        assert_eq!(app.refresh(str_of(&tokens, "refresh_token")).await.status(), 200);
    }

    async fn a_refresh_may_narrow_the_scope_but_never_widen_it(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("narrow@example.com").await;
        let wider = app.post_as_rs("/o/token/", &[("grant_type", "refresh_token"), ("refresh_token", str_of(&tokens, "refresh_token")), ("scope", "read write introspection")]).await;
        assert_oauth_error(wider, 400, "invalid_scope").await;
        // The refused attempt did not consume the token.
        let narrower = app.post_as_rs("/o/token/", &[("grant_type", "refresh_token"), ("refresh_token", str_of(&tokens, "refresh_token")), ("scope", "read")]).await;
        assert_eq!(narrower.status(), 200);
        assert_eq!(narrower.json::<Value>().await.unwrap()["scope"], "read");
    }

    async fn concurrent_refreshes_with_one_token_let_exactly_one_win(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("race@example.com").await;
        let refresh = str_of(&tokens, "refresh_token").to_owned();
        let attempts = (0..4).map(|_| app.refresh(&refresh));
        let statuses: Vec<u16> = futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 3, "{statuses:?}");
    }
}
