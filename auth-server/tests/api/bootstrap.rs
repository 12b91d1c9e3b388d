use crate::helpers::*;
use auth_server::service::admin::{bootstrap_client, BootstrapOutcome};

crate::on_both_backends! {
    async fn bootstrapping_is_idempotent_and_follows_the_configuration(app) {
        let catalogue = app.settings.scopes.available.clone();
        let mut conn = app.pool.get().unwrap();
        let tutorial = tutorial_client(RS_SECRET);
        assert_eq!(bootstrap_client(&mut conn, &tutorial, &catalogue, 4).unwrap(), BootstrapOutcome::Unchanged);
        assert_eq!(bootstrap_client(&mut conn, &tutorial, &catalogue, 4).unwrap(), BootstrapOutcome::Unchanged);
        drop(conn);
        assert_eq!(app.post_as_rs("/o/token/", &[("grant_type", "client_credentials")]).await.status(), 200);

        let mut conn = app.pool.get().unwrap();
        let changed = tutorial_client("a-new-secret");
        assert_eq!(bootstrap_client(&mut conn, &changed, &catalogue, 4).unwrap(), BootstrapOutcome::Updated);
        drop(conn);
        assert_oauth_error(app.post_as_rs("/o/token/", &[("grant_type", "client_credentials")]).await, 401, "invalid_client").await;
        assert_eq!(app.post_as("/o/token/", RS_ID, "a-new-secret", &[("grant_type", "client_credentials")]).await.status(), 200);
    }

    async fn a_second_server_on_the_same_database_starts_cleanly(app) {
        let second = spawn_with(
            shared_core::testing::TestDatabase::create(Backend::Sqlite, "unused").unwrap(),
            app.settings.clone(),
        ).await;
        assert_eq!(second.post_as_rs("/o/token/", &[("grant_type", "client_credentials")]).await.status(), 200);
        let clients = auth_server::service::admin::list_clients(&mut app.pool.get().unwrap()).unwrap();
        assert_eq!(clients.len(), 1);
    }
}
