//! Account lockout: wrong passwords lock an account for a while, in the database (so every instance sees
//! it); while locked even the right password is refused, with the wrong password's answer; a successful
//! sign-in, the lock's end or `auth-server user unlock` start over.

use std::process::Command;
use std::time::Duration;

use auth_server::db::users::{self, User};
use auth_server::password::email;
use shared_core::clock;

use crate::helpers::*;

/// Three wrong passwords lock for 1 s, then 2 s, at most 2 s.
fn quick_lockout(settings: &mut auth_server::Settings) {
    settings.lockout.max_failures = 3;
    settings.lockout.window_secs = 60;
    settings.lockout.first_lock_secs = 1;
    settings.lockout.max_lock_secs = 2;
}

async fn user_row(app: &TestApp, address: &str) -> User {
    let key = email::email_key(&email::normalize(address).unwrap());
    auth_server::db::read(&app.pool, move |c| Ok(users::find_by_email_key(c, &key)?)).await.unwrap().unwrap()
}

async fn login(app: &TestApp, address: &str, password: &str) -> reqwest::Response {
    app.post_as_rs("/o/token/", &[("grant_type", "password"), ("username", address), ("password", password)]).await
}

/// The answer of a refused password grant: status, Retry-After, body.
async fn refusal(response: reqwest::Response) -> (u16, bool, serde_json::Value) {
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    (status, retry_after, response.json().await.unwrap())
}

/// Waits (polling, no fixed sleep) until the account's lock has ended by the server's clock.
async fn wait_until_unlocked(app: &TestApp, address: &str) {
    let until = user_row(app, address).await.locked_until;
    while clock::now() <= until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn lock(app: &TestApp, address: &str) {
    for _ in 0..3 {
        assert_eq!(login(app, address, "wrong-password-1").await.status(), 400);
    }
}

shared_core::on_both_backends! {
    async fn wrong_passwords_lock_the_account_even_against_the_right_one(backend) {
        let app = spawn_app_with(backend, quick_lockout).await;
        let address = "locked@example.com";
        assert_eq!(app.signup(address, PASSWORD).await.status(), 201);
        let wrong = refusal(login(&app, address, "wrong-password-1").await).await;
        assert_eq!(user_row(&app, address).await.failed_logins, 1);
        lock(&app, address).await;
        let row = user_row(&app, address).await;
        assert!(row.locked_until >= clock::now(), "locked: {row:?}");

        // The right password, while locked: exactly the wrong password's answer (nothing says "locked",
        // which would tell whoever typed the email that the account exists).
        let locked = refusal(login(&app, address, PASSWORD).await).await;
        assert_eq!(locked, wrong);
        assert_eq!(locked.0, 400);
        assert!(!locked.1, "no Retry-After on the password grant");

        wait_until_unlocked(&app, address).await;
        assert_eq!(login(&app, address, PASSWORD).await.status(), 200);
        let row = user_row(&app, address).await;
        assert_eq!((row.failed_logins, row.lockouts, row.locked_until), (0, 0, 0), "a sign-in starts over");
    }

    async fn each_lock_in_a_row_lasts_twice_as_long(backend) {
        let app = spawn_app_with(backend, quick_lockout).await;
        let address = "twice@example.com";
        assert_eq!(app.signup(address, PASSWORD).await.status(), 201);
        let before = clock::now();
        lock(&app, address).await;
        let after = clock::now();
        let first = user_row(&app, address).await;
        assert!(first.locked_until <= after + 1 && first.locked_until > before, "1 s: {first:?}");
        wait_until_unlocked(&app, address).await;

        let before = clock::now();
        lock(&app, address).await;
        let second = user_row(&app, address).await;
        assert_eq!(second.lockouts, 2);
        assert!(second.locked_until >= before + 2, "2 s: {second:?}");
    }

    async fn a_locked_account_cannot_change_its_password_and_is_told_when_to_retry(backend) {
        let app = spawn_app_with(backend, quick_lockout).await;
        let address = "change@example.com";
        let tokens = app.user_with_tokens(address).await;
        lock(&app, address).await;
        // The caller holds the user's token: saying "locked" leaks nothing here.
        let body = serde_json::json!({"old_password": PASSWORD, "password": "new-horse-battery-9", "password2": "new-horse-battery-9"});
        let response = app
            .http
            .put(app.url("/users/password/"))
            .bearer_auth(str_of(&tokens, "access_token"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let headers = assert_oauth_error(response, 429, "slow_down").await;
        let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&wait), "{wait}");
    }

    async fn user_unlock_lifts_the_lock_at_once(backend) {
        let app = spawn_app_with(backend, |settings| {
            quick_lockout(settings);
            settings.lockout.first_lock_secs = 600;
            settings.lockout.max_lock_secs = 600;
        })
        .await;
        let address = "unlock@example.com";
        assert_eq!(app.signup(address, PASSWORD).await.status(), 201);
        lock(&app, address).await;
        assert_eq!(login(&app, address, PASSWORD).await.status(), 400, "locked for 10 minutes");

        let output = Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .args(["user", "unlock", "Unlock@Example.com"])
            .env("AUTH_SERVER__DATABASE__URL", &app.db.url)
            .env("RUST_LOG", "audit=info")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "unlocked");
        let audit = String::from_utf8_lossy(&output.stderr);
        let line: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
        assert_eq!((line["event"].as_str(), line["by"].as_str()), (Some("account_unlocked"), Some("admin_cli")));

        assert_eq!(login(&app, address, PASSWORD).await.status(), 200);
    }
}
