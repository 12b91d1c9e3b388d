//! The admin CLI's user commands (list, show, disable, enable, delete, set-password) and `token revoke`,
//! run as the real binary against the test's database while the server runs.

use auth_server::db::revocation_log;
use auth_server::service::admin::AdminError;
use serde_json::Value;
use shared_core::revocation::RevocationEvent;
use shared_core::token_digest;

use crate::admin_cli::{cli, run, stdout};
use crate::browser::*;
use crate::helpers::*;

const NEW_PASSWORD: &str = "staple-battery-horse-2";

/// The command's stdout as JSON (run with `--json`).
fn json_of(app: &TestApp, args: &[&str]) -> Value {
    let output = cli(app, &[args, &["--json"]].concat());
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&output)))
}

/// Every event in the revocation log.
async fn revocation_log(app: &TestApp) -> Vec<RevocationEvent> {
    let events = app.pool.read(|c| -> Result<_, AdminError> { Ok(revocation_log::since(c, 0, 1000)?) }).await;
    events.unwrap().into_iter().map(|(_, event)| event).collect()
}

fn ended_user(events: &[RevocationEvent], subject: &str) -> bool {
    events.iter().any(|e| matches!(e, RevocationEvent::User { sub, .. } if sub == subject))
}

fn ended_digest(events: &[RevocationEvent], token: &str) -> bool {
    let digest = token_digest(token);
    events.iter().any(|e| matches!(e, RevocationEvent::Tokens { digests } if digests.contains(&digest)))
}

/// The token endpoint's answer to a password grant: status and body.
async fn grant_answer(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let form = [("grant_type", "password"), ("username", email), ("password", password)];
    let response = app.post_as_rs("/o/token/", &form).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

shared_core::on_both_backends! {
    async fn a_disabled_user_is_answered_as_a_wrong_password_and_their_tokens_end_until_enabled(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("dana@example.com").await;
        app.web_client(web_profile()).await;
        let (verifier, challenge) = pkce_pair();
        let code = Browser::new().code_for(&app, WEB_ID, "dana@example.com", Some(&challenge)).await;

        let disabled = json_of(&app, &["user", "disable", "Dana@Example.com"]);
        assert_eq!((disabled["disabled"].clone(), disabled["changed"].clone()), (Value::Bool(true), Value::Bool(true)));

        let wrong = grant_answer(&app, "dana@example.com", "not-the-password").await;
        assert_eq!(wrong.0, 400);
        assert_eq!(grant_answer(&app, "dana@example.com", PASSWORD).await, wrong, "nothing tells disabled from wrong");
        let browser = Browser::new();
        let login = browser.get(&app.url(&format!("/o/authorize/?response_type=code&client_id={WEB_ID}&redirect_uri={WEB_REDIRECT}&scope=openid&code_challenge={challenge}&code_challenge_method=S256"))).await;
        let answer = browser.sign_in(&app, &login.text().await.unwrap(), "dana@example.com").await;
        assert_eq!(answer.status(), 200);
        assert!(answer.text().await.unwrap().contains(r#"name="password""#), "the login page again, as for a wrong password");
        assert!(!app.is_active(str_of(&tokens, "access_token")).await);
        assert_oauth_error(app.refresh(str_of(&tokens, "refresh_token")).await, 400, "invalid_grant").await;
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", WEB_REDIRECT), ("code_verifier", verifier.as_str())];
        assert_oauth_error(app.post_as("/o/token/", WEB_ID, WEB_SECRET, &form).await, 400, "invalid_grant").await;
        let subject = disabled["subject"].as_str().unwrap().to_owned();
        assert!(ended_user(&revocation_log(&app).await, &subject), "resource servers hear of it");

        let shown = json_of(&app, &["user", "show", "dana@example.com"]);
        assert_eq!(shown["state"], "disabled", "{shown}");
        assert!(stdout(&cli(&app, &["user", "list"])).contains("disabled since"));
        assert_eq!(json_of(&app, &["user", "disable", "dana@example.com"])["changed"], false, "already disabled");

        assert_eq!(json_of(&app, &["user", "enable", "dana@example.com"])["changed"], true);
        app.password_grant("dana@example.com", PASSWORD).await;
        assert_eq!(json_of(&app, &["user", "show", "dana@example.com"])["state"], "active");
        assert!(stdout(&cli(&app, &["user", "enable", "dana@example.com"])).contains("nothing to do"));
        assert!(!run(&app, &["user", "disable", "nobody@example.com"]).status.success());
    }

    async fn user_list_and_show_describe_accounts_without_their_password(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("alice@example.com").await;
        assert_eq!(app.signup("bob@example.org", PASSWORD).await.status(), 201);

        let all = json_of(&app, &["user", "list"]);
        let emails: Vec<&str> = all.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["alice@example.com", "bob@example.org"]);
        assert_eq!(all[0]["state"], "active");
        assert!(all[0]["created_at"].as_i64().unwrap() > 0 && all[0]["subject"].as_str().unwrap().len() == 36);
        let some = json_of(&app, &["user", "list", "--email-like", "ALICE"]);
        assert_eq!(some.as_array().unwrap().len(), 1, "case-insensitive: {some}");
        assert_eq!(json_of(&app, &["user", "list", "--email-like", "%"]).as_array().unwrap().len(), 0, "% is a character");
        let text = stdout(&cli(&app, &["user", "list", "--email-like", "example.org"]));
        assert!(text.starts_with("bob@example.org  ") && text.trim_end().ends_with("active") && text.lines().count() == 1, "{text}");

        let shown = json_of(&app, &["user", "show", "Alice@Example.com"]);
        assert_eq!((shown["live_access_tokens"].as_i64(), shown["live_refresh_tokens"].as_i64()), (Some(1), Some(1)), "{shown}");
        assert_eq!(shown["failed_logins"], 0);
        assert!(shown["password_changed_at"].as_i64().unwrap() > 0);
        assert!(shown.get("password_hash").is_none());
        let text = stdout(&cli(&app, &["user", "show", "alice@example.com"]));
        assert!(text.contains("state: active\n") && text.contains("live_tokens: 1 access, 1 refresh\n"), "{text}");
        assert!(!text.contains(str_of(&tokens, "access_token")));
        assert!(!run(&app, &["user", "show", "nobody@example.com"]).status.success());
    }

    async fn deleting_a_user_ends_their_tokens_then_removes_them(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("erin@example.com").await;
        let deleted = json_of(&app, &["user", "delete", "erin@example.com"]);
        assert_eq!(deleted["deleted"], true);
        let subject = deleted["subject"].as_str().unwrap().to_owned();

        assert!(!app.is_active(str_of(&tokens, "access_token")).await);
        assert_oauth_error(app.refresh(str_of(&tokens, "refresh_token")).await, 400, "invalid_grant").await;
        assert!(ended_user(&revocation_log(&app).await, &subject), "resource servers drop what they cached");
        assert!(!run(&app, &["user", "show", "erin@example.com"]).status.success(), "gone");
        assert_eq!(grant_answer(&app, "erin@example.com", PASSWORD).await.0, 400);
        assert!(!run(&app, &["user", "delete", "erin@example.com"]).status.success(), "already gone");

        // The email is free again; the new account is someone else.
        let again = app.user_with_tokens("erin@example.com").await;
        let shown = json_of(&app, &["user", "show", "erin@example.com"]);
        assert_ne!(shown["subject"].as_str().unwrap(), subject);
        assert!(app.is_active(str_of(&again, "access_token")).await);
    }

    async fn set_password_replaces_the_password_and_ends_every_token(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("fay@example.com").await;
        let before = json_of(&app, &["user", "show", "fay@example.com"])["password_changed_at"].as_i64().unwrap();
        assert!(!run(&app, &["user", "set-password", "fay@example.com", "--password", "short"]).status.success(), "signup's rules");
        assert!(!run(&app, &["user", "set-password", "fay@example.com", "--password", "fay@example.com"]).status.success());
        assert!(app.is_active(str_of(&tokens, "access_token")).await, "a refused change ends nothing");

        let set = json_of(&app, &["user", "set-password", "fay@example.com", "--password", NEW_PASSWORD]);
        assert_eq!(set["password_set"], true);
        assert_eq!(grant_answer(&app, "fay@example.com", PASSWORD).await.0, 400, "the old password fails");
        app.password_grant("fay@example.com", NEW_PASSWORD).await;
        assert!(!app.is_active(str_of(&tokens, "access_token")).await);
        assert_oauth_error(app.refresh(str_of(&tokens, "refresh_token")).await, 400, "invalid_grant").await;
        assert!(ended_user(&revocation_log(&app).await, set["subject"].as_str().unwrap()));
        let after = json_of(&app, &["user", "show", "fay@example.com"])["password_changed_at"].as_i64().unwrap();
        assert!(after >= before);
        assert!(!run(&app, &["user", "set-password", "nobody@example.com", "--password", NEW_PASSWORD]).status.success());
    }

    async fn token_revoke_ends_an_access_or_refresh_token_and_logs_the_revocation(backend) {
        let app = spawn_app(backend).await;
        let first = app.user_with_tokens("gil@example.com").await;
        let access = str_of(&first, "access_token");
        let revoked = json_of(&app, &["token", "revoke", access]);
        assert_eq!((revoked["kind"].as_str(), revoked["client_id"].as_str(), revoked["was_live"].as_bool()), (Some("access_token"), Some(RS_ID), Some(true)));
        assert!(!app.is_active(access).await);
        assert!(ended_digest(&revocation_log(&app).await, access), "the event names the token's digest");
        assert!(app.refresh(str_of(&first, "refresh_token")).await.status().is_success(), "only that token ended");
        assert_eq!(json_of(&app, &["token", "revoke", access])["was_live"], false, "a second time: nothing new");

        // A refresh token, with the access token issued with it.
        let second = app.password_grant("gil@example.com", PASSWORD).await;
        let text = stdout(&cli(&app, &["token", "revoke", str_of(&second, "refresh_token")]));
        assert_eq!(text, format!("revoked the refresh_token of client {RS_ID}\n"));
        assert_oauth_error(app.refresh(str_of(&second, "refresh_token")).await, 400, "invalid_grant").await;
        assert!(!app.is_active(str_of(&second, "access_token")).await);
        assert!(ended_digest(&revocation_log(&app).await, str_of(&second, "access_token")));

        // A JWT access token is revoked by its value too.
        cli(&app, &["client", "update", RS_ID, "--access-token-format", "jwt"]);
        let jwt = app.password_grant("gil@example.com", PASSWORD).await;
        let jwt = str_of(&jwt, "access_token");
        assert_eq!(jwt.split('.').count(), 3);
        cli(&app, &["token", "revoke", jwt]);
        assert!(!app.is_active(jwt).await);
        assert!(ended_digest(&revocation_log(&app).await, jwt));

        let unknown = run(&app, &["token", "revoke", "no-such-token", "--json"]);
        assert_eq!(unknown.status.code(), Some(1));
        assert!(unknown.stdout.is_empty());
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("no such token"));
    }
}
