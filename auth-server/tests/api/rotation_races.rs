//! PostgreSQL at READ COMMITTED: a refresh-token rotation that commits while the token's family (reuse
//! detection) or all of its user's tokens (password change) are being revoked must not leave its new token
//! alive. Each test holds the rotation inside its transaction, starts the revocation, lets the rotation
//! commit only once the revocation is blocked behind it, and checks what survived. (SQLite runs one write at
//! a time: there is no such interleaving to test.)

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde_json::{json, Value};
use shared_core::testing::{postgres_available, Backend};

use crate::helpers::*;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Holds `LOCK TABLE access_tokens IN SHARE MODE` in a transaction of its own until dropped. A rotation
/// retires the old refresh token (keeping its row and its user locked), then waits here before it revokes
/// the old access token and inserts the new tokens.
struct Gate {
    release: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Gate {
    fn close(url: &str) -> Gate {
        let mut conn = PgConnection::establish(url).unwrap();
        conn.batch_execute("BEGIN; LOCK TABLE access_tokens IN SHARE MODE;").unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            released.recv().ok();
            conn.batch_execute("COMMIT").unwrap();
        });
        Gate { release: Some(release), thread: Some(thread) }
    }

    fn open(mut self) {
        self.release.take().unwrap().send(()).unwrap();
        self.thread.take().unwrap().join().unwrap();
    }
}

/// Waits until `n` sessions of the test database wait for a lock.
async fn until_blocked(url: &str, n: i64) {
    let mut conn = PgConnection::establish(url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting = diesel::sql_query(
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
        if waiting >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{waiting} of {n} sessions blocked after 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn refresh(app: &TestApp, refresh_token: &str) -> impl std::future::Future<Output = reqwest::Response> {
    let request = app
        .http
        .post(app.url("/o/token/"))
        .basic_auth(RS_ID, Some(RS_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]);
    async move { request.send().await.unwrap() }
}

/// A user with a refresh token rotated once: `(retired, live)`.
async fn rotated_once(app: &TestApp, email: &str) -> (String, String) {
    let tokens = app.user_with_tokens(email).await;
    let retired = str_of(&tokens, "refresh_token").to_owned();
    let rotated: Value = refresh(app, &retired).await.json().await.unwrap();
    (retired, str_of(&rotated, "refresh_token").to_owned())
}

/// Starts the rotation of `live` and waits until it is held at the gate.
async fn held_rotation(app: &TestApp, live: &str) -> (Gate, tokio::task::JoinHandle<reqwest::Response>) {
    let gate = Gate::close(&app.db.url);
    let rotation = tokio::spawn(refresh(app, live));
    until_blocked(&app.db.url, 1).await;
    (gate, rotation)
}

/// The new refresh token of a rotation that answered 200 must be dead, and so must its access token.
async fn assert_rotation_revoked(app: &TestApp, rotation: reqwest::Response) {
    assert_eq!(rotation.status(), 200, "the rotation itself committed first");
    let tokens: Value = rotation.json().await.unwrap();
    assert!(!app.is_active(str_of(&tokens, "access_token")).await, "the rotated access token was revoked");
    assert_oauth_error(refresh(app, str_of(&tokens, "refresh_token")).await, 400, "invalid_grant").await;
}

#[actix_rt::test]
async fn a_rotation_committing_during_reuse_detection_is_revoked_with_its_family() {
    if !postgres_available() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let (retired, live) = rotated_once(&app, "family-race@example.com").await;
    let (gate, rotation) = held_rotation(&app, &live).await;
    // The retired token comes back: reuse detection revokes the family, and waits behind the rotation.
    let reuse = tokio::spawn(refresh(&app, &retired));
    until_blocked(&app.db.url, 2).await;
    gate.open();
    assert_oauth_error(reuse.await.unwrap(), 400, "invalid_grant").await;
    assert_rotation_revoked(&app, rotation.await.unwrap()).await;
}

#[actix_rt::test]
async fn a_rotation_committing_during_a_password_change_is_revoked_with_the_users_tokens() {
    if !postgres_available() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let (_, live) = rotated_once(&app, "user-race@example.com").await;
    let bearer = str_of(&app.password_grant("user-race@example.com", PASSWORD).await, "access_token").to_owned();
    let (gate, rotation) = held_rotation(&app, &live).await;
    let change =
        json!({"old_password": PASSWORD, "password": "another-horse-battery", "password2": "another-horse-battery"});
    let request = app.http.put(app.url("/users/password/")).bearer_auth(&bearer).json(&change);
    let password_change = tokio::spawn(async move { request.send().await.unwrap() });
    until_blocked(&app.db.url, 2).await;
    gate.open();
    assert_eq!(password_change.await.unwrap().status(), 200);
    assert_rotation_revoked(&app, rotation.await.unwrap()).await;
}
