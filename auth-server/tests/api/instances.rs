//! Several instances on one PostgreSQL database: they may all start at the same moment on a fresh database
//! (migrations and the configured clients are set up once, the others find them done).

use shared_core::testing::{postgres_available, Backend, TestDatabase};

use auth_server::testing::{TestAuthServer, RS_ID, RS_SECRET};

#[actix_rt::test]
async fn instances_starting_together_on_a_fresh_database_all_start() {
    if !postgres_available() {
        return;
    }
    let db = TestDatabase::create(Backend::Postgres, "together");
    let settings = auth_server::Settings::for_tests(&db.url);
    let (a, b, c) = tokio::join!(
        TestAuthServer::start(settings.clone()),
        TestAuthServer::start(settings.clone()),
        TestAuthServer::start(settings)
    );
    let http = reqwest::Client::new();
    for server in [&a, &b, &c] {
        let response = http
            .post(server.url("/o/token/"))
            .basic_auth(RS_ID, Some(RS_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}
