//! `auth-server config check`: the settings validated, the database reached without being migrated, the
//! effective settings printed with every secret redacted.

use std::process::Output;

use serde_json::Value;

use crate::helpers::*;

fn config_check(database_url: &str, extra: &[(&str, &str)]) -> Output {
    let mut command =
        shared_core::testing::command_without_settings(env!("CARGO_BIN_EXE_auth-server"), "AUTH_SERVER__");
    command.args(["config", "check", "--json"]).env("AUTH_SERVER__DATABASE__URL", database_url).env("RUST_LOG", "off");
    command.envs(extra.iter().copied()).output().unwrap()
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("JSON: {}", String::from_utf8_lossy(&output.stdout)))
}

shared_core::on_both_backends! {
    async fn config_check_reaches_the_database_and_redacts_every_secret(backend) {
        let app = spawn_app(backend).await;
        let output = config_check(
            &app.db.url,
            &[
                ("AUTH_SERVER__CLIENTS__API__CLIENT_ID", "api"),
                ("AUTH_SERVER__CLIENTS__API__CLIENT_SECRET", "topsecret-value-123456"),
                ("AUTH_SERVER__CLIENTS__API__GRANT_TYPES", "client_credentials"),
                ("AUTH_SERVER__CLIENTS__API__SCOPES", "read"),
            ],
        );
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let report = report(&output);
        assert_eq!(report["ok"], true);
        assert_eq!(report["database"]["reachable"], true);
        assert_eq!(report["database"]["pending_migrations"], 0, "the server migrated it");
        assert_eq!(report["settings"]["clients"]["api"]["client_secret"], "<redacted>");
        assert_eq!(report["settings"]["lockout"]["max_failures"], 5, "the effective settings");
        assert!(!String::from_utf8_lossy(&output.stdout).contains("topsecret"));
    }
}

#[test]
fn config_check_fails_on_an_unreachable_database_without_printing_its_password() {
    let output = config_check(
        "postgres://app:hunter2-db-secret@127.0.0.1:9/auth",
        &[("AUTH_SERVER__DATABASE__ACQUIRE_TIMEOUT_MS", "500")],
    );
    assert_eq!(output.status.code(), Some(1));
    let report = report(&output);
    assert_eq!((report["ok"].as_bool(), report["database"]["reachable"].as_bool()), (Some(false), Some(false)));
    assert_eq!(report["database"]["url"], "postgres://app:***@127.0.0.1:9/auth");
    assert!(report["database"]["note"].as_str().unwrap().contains("connect"), "{report}");
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!printed.contains("hunter2-db-secret"), "{printed}");
}

#[test]
fn config_check_does_not_create_a_missing_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("auth-config-check-{}", std::process::id()));
    let path = dir.join("fresh.sqlite3");
    let output = config_check(&format!("sqlite://{}", path.display()), &[]);
    assert!(output.status.success(), "a file the server will create is fine");
    assert!(report(&output)["database"]["note"].as_str().unwrap().contains("does not exist yet"));
    assert!(!path.exists(), "a check changes nothing");
}
