//! The audit trail: one JSON line per event on the `audit` log target, with the client's address and the
//! request id, and never a password, a secret or a token in any log line.

use serde_json::Value;
use shared_core::testing::LogCapture;

use crate::helpers::*;

/// This test's events: those naming its client or its user.
fn events_of(logs: &LogCapture, client_id: &str, user_email: &str) -> Vec<Value> {
    logs.audit_events()
        .into_iter()
        .filter(|event| event["client_id"] == client_id || event["email"] == user_email)
        .collect()
}

fn find<'a>(events: &'a [Value], event: &str, field: &str, value: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == event && e[field] == value)
        .unwrap_or_else(|| panic!("no {event} with {field}={value} in {events:#?}"))
}

shared_core::on_both_backends! {
    async fn the_audit_trail_records_sign_ins_tokens_and_lockouts_without_secrets(backend) {
        let logs = LogCapture::install();
        let app = spawn_app_with(backend, |settings| settings.lockout.max_failures = 2).await;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let (client_id, client_secret) = (format!("audit-{run}"), format!("secret-{run}-long-enough"));
        let (address, password) = (format!("audit-{}@example.com", &run[..16]), format!("Kettle-{}-Tangerine", &run[16..]));
        app.create_client(&client_id, Some(&client_secret), "password,refresh_token", "read,write").await;
        assert_eq!(app.signup(&address, &password).await.status(), 201);

        let grant = [("grant_type", "password"), ("username", address.as_str()), ("password", password.as_str())];
        let response = app
            .http
            .post(app.url("/o/token/"))
            .basic_auth(&client_id, Some(&client_secret))
            .header("X-Request-Id", format!("req-{run}"))
            .form(&grant)
            .send()
            .await
            .unwrap();
        let tokens: Value = response.json().await.unwrap();
        let (access, refresh) = (str_of(&tokens, "access_token").to_owned(), str_of(&tokens, "refresh_token").to_owned());
        // Rotate, then present the old refresh token again: reuse.
        let rotate = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
        let rotated: Value = app.post_as("/o/token/", &client_id, &client_secret, &rotate).await.json().await.unwrap();
        let revoke = [("token", str_of(&rotated, "access_token"))];
        assert_eq!(app.post_as("/o/revoke_token/", &client_id, &client_secret, &revoke).await.status(), 200);
        assert_eq!(app.post_as("/o/token/", &client_id, &client_secret, &rotate).await.status(), 400);
        assert_eq!(app.post_as("/o/token/", &client_id, "not-the-secret", &grant).await.status(), 401);
        let wrong = [("grant_type", "password"), ("username", address.as_str()), ("password", "wrong-password-1")];
        for _ in 0..2 {
            assert_eq!(app.post_as("/o/token/", &client_id, &client_secret, &wrong).await.status(), 400);
        }

        let events = events_of(logs, &client_id, &address);
        let signed_in = find(&events, "login_succeeded", "method", "password_grant");
        assert_eq!(signed_in["email"], address.as_str());
        assert_eq!(signed_in["ip"], "127.0.0.1");
        assert_eq!(signed_in["request_id"], format!("req-{run}"));
        assert!(signed_in["time"].as_str().unwrap().ends_with('Z'));
        let issued = find(&events, "token_issued", "grant", "password");
        assert_eq!((issued["scope"].as_str(), issued["user"].as_str()), (Some("read write"), signed_in["user"].as_str()));
        find(&events, "token_issued", "grant", "refresh_token");
        find(&events, "refresh_reuse_detected", "client_id", &client_id);
        find(&events, "token_revoked", "kind", "access_token");
        find(&events, "client_auth_failed", "client_id", &client_id);
        find(&events, "login_failed", "reason", "wrong_password");
        let locked = find(&events, "account_locked", "email", &address);
        assert_eq!(locked["lockouts"], 1);

        // Nothing secret in any line of any target.
        let secrets = [password.as_str(), client_secret.as_str(), access.as_str(), refresh.as_str(), str_of(&rotated, "refresh_token")];
        for line in logs.lines() {
            for secret in secrets {
                assert!(!line.message.contains(secret), "a secret in a log line of {}: {}", line.target, line.message);
            }
        }
    }

    async fn a_password_change_is_audited(backend) {
        let logs = LogCapture::install();
        let app = spawn_app(backend).await;
        let address = format!("change-{}@example.com", uuid::Uuid::new_v4().simple());
        let tokens = app.user_with_tokens(&address).await;
        let body = serde_json::json!({"old_password": PASSWORD, "password": "new-horse-battery-9", "password2": "new-horse-battery-9"});
        let response = app.http.put(app.url("/users/password/")).bearer_auth(str_of(&tokens, "access_token")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let events = events_of(logs, "-", &address);
        find(&events, "password_changed", "email", &address);
        assert!(logs.lines().iter().all(|line| !line.message.contains("new-horse-battery-9")));
    }

    async fn admin_secrets_over_72_bytes_are_refused_and_short_ones_warned_about(backend) {
        let logs = LogCapture::install();
        let app = spawn_app(backend).await;
        let profile = auth_server::service::registration::ClientProfile {
            name: "x".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["read".into()],
            require_pkce: true,
            ..Default::default()
        };
        let spec = |id: &str, secret: String| auth_server::service::admin::ClientSpec {
            client_id: Some(id.into()),
            secret: Some(secret),
            public: false,
            profile: profile.clone(),
        };
        let create = |spec| auth_server::service::admin::create_client(&app.pool, spec, &app.settings.scopes.available, 4);
        let refused = match create(spec("too-long", "x".repeat(73))).await {
            Ok(_) => panic!("a 73-byte secret was accepted"),
            Err(error) => error.to_string(),
        };
        assert!(refused.contains("at most 72"), "{refused}");
        create(spec("exactly-72", "y".repeat(72))).await.unwrap();
        let short_id = format!("short-{}", uuid::Uuid::new_v4().simple());
        create(spec(&short_id, "short-secret".into())).await.unwrap();
        let warned = logs.lines().into_iter().any(|l| l.level == log::Level::Warn && l.message.contains(&short_id) && l.message.contains("shorter than 16"));
        assert!(warned, "a warning names the client with the short secret");
        assert!(logs.lines().iter().all(|l| !l.message.contains("short-secret")), "and not its secret");
        // Every test server bootstraps the tutorial client: a loud warning, which does not repeat the secret.
        let tutorial = logs.lines().into_iter().any(|l| l.level == log::Level::Warn && l.message.contains("\"rs-id\" uses the tutorial's well-known secret"));
        assert!(tutorial, "the rs-secret warning");
        assert!(logs.lines().iter().all(|l| !l.message.contains(RS_SECRET)), "no log line holds rs-secret itself");
    }
}

#[test]
fn a_database_urls_password_is_never_printed() {
    for url in ["postgres://app:hunter2-db-secret@127.0.0.1:9/auth", "postgress://app:hunter2-db-secret@db/auth"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .arg("migrate")
            .env("AUTH_SERVER__DATABASE__URL", url)
            .env("AUTH_SERVER__DATABASE__ACQUIRE_TIMEOUT_MS", "500")
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{url} cannot work");
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(printed.contains("auth-server:"), "an error was printed: {printed}");
        assert!(!printed.contains("hunter2-db-secret"), "{printed}");
    }
}
