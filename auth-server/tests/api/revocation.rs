use crate::helpers::*;

shared_core::on_both_backends! {
    async fn revoking_an_access_token_makes_it_inactive(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("rev@example.com").await;
        let access = str_of(&tokens, "access_token");
        let response = app.post_as_rs("/o/revoke_token/", &[("token", access), ("token_type_hint", "access_token")]).await;
        assert_eq!(response.status(), 200);
        assert!(!app.is_active(access).await);
        // The refresh token is untouched.
        assert_eq!(app.refresh(str_of(&tokens, "refresh_token")).await.status(), 200);
    }

    async fn revoking_a_refresh_token_revokes_its_access_token(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("revref@example.com").await;
        let response = app.post_as_rs("/o/revoke_token/", &[("token", str_of(&tokens, "refresh_token"))]).await;
        assert_eq!(response.status(), 200);
        assert!(!app.is_active(str_of(&tokens, "access_token")).await);
        assert_oauth_error(app.refresh(str_of(&tokens, "refresh_token")).await, 400, "invalid_grant").await;
    }

    async fn a_client_cannot_revoke_another_clients_token(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("owner@example.com").await;
        app.create_client("intruder", Some("intruder-secret"), "client_credentials", "read").await;
        let response = app.post_as("/o/revoke_token/", "intruder", "intruder-secret", &[("token", str_of(&tokens, "access_token"))]).await;
        assert_eq!(response.status(), 200, "indistinguishable from an unknown token");
        assert!(app.is_active(str_of(&tokens, "access_token")).await);
    }

    async fn unknown_tokens_answer_200_and_bad_requests_are_refused(backend) {
        let app = spawn_app(backend).await;
        assert_eq!(app.post_as_rs("/o/revoke_token/", &[("token", "unknown")]).await.status(), 200);
        assert_oauth_error(app.post_as_rs("/o/revoke_token/", &[]).await, 400, "invalid_request").await;
        assert_oauth_error(app.post_form("/o/revoke_token/", &[("token", "x")]).await, 401, "invalid_client").await;
        let wrong = app.post_as("/o/revoke_token/", RS_ID, "nope", &[("token", "x")]).await;
        let headers = assert_oauth_error(wrong, 401, "invalid_client").await;
        assert!(headers.contains_key("www-authenticate"));
    }
}
