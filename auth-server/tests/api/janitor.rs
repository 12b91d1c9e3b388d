use auth_server::db::schema::access_tokens;
use auth_server::service::janitor::sweep;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::helpers::*;

async fn access_token_rows(app: &TestApp) -> i64 {
    auth_server::db::read(&app.pool, |c| Ok(access_tokens::table.select(count_star()).first(c)?)).await.unwrap()
}

shared_core::on_both_backends! {
    async fn the_janitor_deletes_revoked_tokens_and_keeps_live_ones(backend) {
        let app = spawn_app(backend).await;
        let live = app.user_with_tokens("live@example.com").await;
        let dead = app.password_grant("live@example.com", PASSWORD).await;
        app.post_as_rs("/o/revoke_token/", &[("token", str_of(&dead, "access_token"))]).await;
        assert_eq!(access_token_rows(&app).await, 2);
        let deleted = sweep(&app.pool, 1, 3600, 86_400).await.unwrap();
        assert_eq!(deleted, 1);
        assert_eq!(access_token_rows(&app).await, 1);
        assert!(app.is_active(str_of(&live, "access_token")).await);
    }
}
