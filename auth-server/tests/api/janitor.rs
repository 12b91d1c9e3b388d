use auth_server::service::janitor::sweep;
use diesel::prelude::*;
use shared_core::db_run;

use crate::helpers::*;

fn access_token_rows(app: &TestApp) -> i64 {
    use diesel::dsl::count_star;
    let mut conn = app.pool.get().unwrap();
    db_run!(conn, c => auth_server::db::schema::access_tokens::table.select(count_star()).first(c)).unwrap()
}

crate::on_both_backends! {
    async fn the_janitor_deletes_revoked_tokens_and_keeps_live_ones(app) {
        let live = app.user_with_tokens("live@example.com").await;
        let dead = app.password_grant("live@example.com", PASSWORD).await;
        app.post_as_rs("/o/revoke_token/", &[("token", str_of(&dead, "access_token"))]).await;
        assert_eq!(access_token_rows(&app), 2);
        let deleted = sweep(&app.pool, 1).await.unwrap();
        assert_eq!(deleted, 1);
        assert_eq!(access_token_rows(&app), 1);
        assert!(app.is_active(str_of(&live, "access_token")).await);
    }
}
