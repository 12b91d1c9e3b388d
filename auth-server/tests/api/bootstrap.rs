use auth_server::service::admin::{bootstrap_client, list_clients, BootstrapOutcome};
use auth_server::testing::{tutorial_client, TestAuthServer};

use crate::helpers::*;

shared_core::on_both_backends! {
    async fn bootstrapping_is_idempotent_and_follows_the_configuration(backend) {
        let app = spawn_app(backend).await;
        let catalogue = app.settings.scopes.available.clone();
        let tutorial = tutorial_client(RS_SECRET);
        assert_eq!(bootstrap_client(&app.pool, &tutorial, &catalogue, 4).await.unwrap(), BootstrapOutcome::Unchanged);
        assert_eq!(bootstrap_client(&app.pool, &tutorial, &catalogue, 4).await.unwrap(), BootstrapOutcome::Unchanged);
        assert_eq!(app.post_as_rs("/o/token/", &[("grant_type", "client_credentials")]).await.status(), 200);

        let changed = tutorial_client("a-new-secret");
        assert_eq!(bootstrap_client(&app.pool, &changed, &catalogue, 4).await.unwrap(), BootstrapOutcome::Updated);
        assert_oauth_error(app.post_as_rs("/o/token/", &[("grant_type", "client_credentials")]).await, 401, "invalid_client").await;
        assert_eq!(app.post_as("/o/token/", RS_ID, "a-new-secret", &[("grant_type", "client_credentials")]).await.status(), 200);
    }

    async fn a_second_server_on_the_same_database_starts_cleanly(backend) {
        let app = spawn_app(backend).await;
        let second = TestAuthServer::start(app.settings.clone()).await;
        let response = app.http.post(second.url("/o/token/")).basic_auth(RS_ID, Some(RS_SECRET))
            .form(&[("grant_type", "client_credentials")]).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(list_clients(&app.pool).await.unwrap().len(), 1);
    }
}
