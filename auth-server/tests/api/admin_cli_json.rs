//! The admin CLI's `--json` (one JSON document on stdout for every command; errors stay on stderr with a
//! non-zero status), `client show`, and the audit lines of the commands that change something.

use serde_json::Value;

use crate::admin_cli::{cli, command, run, stdout};
use crate::helpers::*;

/// The command's stdout, which must be one JSON document.
fn json_of(app: &TestApp, args: &[&str]) -> Value {
    let output = cli(app, &[&["--json"][..], args].concat());
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&output)))
}

/// What the command writes to the audit trail (stderr, with only the audit target on).
fn audit_lines(app: &TestApp, args: &[&str]) -> String {
    let output = command(app, args).env("RUST_LOG", "off,audit=info").output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

shared_core::on_both_backends! {
    async fn every_admin_command_prints_one_json_document_with_json(backend) {
        let app = spawn_app(backend).await;
        assert_eq!(json_of(&app, &["migrate"])["database"], "up to date");

        let created = json_of(&app, &["client", "create", "--name", "Jay", "--grant-types", "client_credentials", "--scopes", "read"]);
        let id = created["client_id"].as_str().unwrap().to_owned();
        let secret = created["client_secret"].as_str().expect("the secret, shown once, in JSON too").to_owned();
        assert_eq!(app.post_as("/o/token/", &id, &secret, &[("grant_type", "client_credentials")]).await.status(), 200);
        let public = json_of(&app, &["client", "create", "--name", "Pub", "--public", "--grant-types", "password", "--scopes", "read"]);
        assert_eq!(public["client_secret"], Value::Null);
        assert_eq!(json_of(&app, &["client", "update", &id, "--name", "Jay 2"])["updated"], true);
        let listed = json_of(&app, &["client", "list"]);
        let mine = listed.as_array().unwrap().iter().find(|c| c["client_id"] == id.as_str()).unwrap().clone();
        assert_eq!(mine["name"], "Jay 2");
        assert!(listed.to_string().find(&secret).is_none(), "never a secret in a listing");
        let shown = json_of(&app, &["client", "show", &id]);
        assert_eq!(shown, mine, "show is list's entry");
        assert_eq!(shown["kind"], "confidential");
        assert_eq!(shown["grant_types"], serde_json::json!(["client_credentials"]));
        assert_eq!(shown["access_token_format"], "opaque");
        let rotated = json_of(&app, &["client", "rotate-secret", &id]);
        assert_eq!(rotated["client_secret"].as_str().unwrap().len(), 43);
        assert_eq!(json_of(&app, &["client", "delete", &id])["deleted"], true);

        let keys = json_of(&app, &["keys", "list"]);
        assert_eq!(keys[0]["state"], "active", "{keys}");
        let rotated = json_of(&app, &["keys", "rotate"]);
        assert_eq!(rotated["keys"].as_array().unwrap().len(), 2, "{rotated}");
        assert!(rotated["rotated"].is_string());

        let created = json_of(&app, &["resource", "create", "--scopes", "read", "--identifier", "https://api.example.com"]);
        assert_eq!(created["created"], true);
        assert_eq!(json_of(&app, &["resource", "list"])[0]["scopes"], serde_json::json!(["read"]));
        assert_eq!(json_of(&app, &["resource", "delete", "https://api.example.com"])["deleted"], true);

        assert_eq!(json_of(&app, &["user", "create", "--email", "Ivy@Example.com", "--password", PASSWORD])["email"], "Ivy@example.com");
        assert_eq!(json_of(&app, &["user", "unlock", "ivy@example.com"])["unlocked"], false);
        assert_eq!(json_of(&app, &["user", "revoke-tokens", "ivy@example.com"])["revoked"], true);
        assert_eq!(json_of(&app, &["config", "check"])["ok"], true, "the global flag before the command");
        let after: Value = serde_json::from_slice(&cli(&app, &["config", "check", "--json"]).stdout).unwrap();
        assert_eq!(after["ok"], true, "and after it, as before");

        let refused = run(&app, &["--json", "client", "show", "no-such-client"]);
        assert_eq!(refused.status.code(), Some(1));
        assert!(refused.stdout.is_empty(), "an error prints no document");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("no client with id"));
    }

    async fn client_show_prints_what_client_list_prints_for_that_client(backend) {
        let app = spawn_app(backend).await;
        let listed = stdout(&cli(&app, &["client", "list"]));
        let shown = stdout(&cli(&app, &["client", "show", RS_ID]));
        assert!(shown.starts_with(&format!("{RS_ID}  (")), "{shown}");
        assert!(listed.contains(&shown), "{listed}\n{shown}");
        assert!(!run(&app, &["client", "show", "nobody"]).status.success());
    }

    async fn every_changing_user_command_writes_an_audit_line_and_token_revoke_never_names_the_token(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("kai@example.com").await;
        let access = str_of(&tokens, "access_token");
        let line = audit_lines(&app, &["token", "revoke", access]);
        assert!(line.contains(r#""command":"token revoke""#) && line.contains("access_token of client rs-id"), "{line}");
        assert!(!line.contains(access) && !line.contains(&shared_core::token_digest(access)), "{line}");
        for (args, command) in [
            (&["user", "disable", "kai@example.com"][..], "user disable"),
            (&["user", "enable", "kai@example.com"], "user enable"),
            (&["user", "set-password", "kai@example.com", "--password", "staple-battery-horse-2"], "user set-password"),
            (&["user", "delete", "kai@example.com"], "user delete"),
        ] {
            let line = audit_lines(&app, args);
            assert!(line.contains(&format!(r#""command":"{command}""#)) && line.contains("kai@example.com"), "{line}");
            assert!(!line.contains("staple-battery"), "never a password: {line}");
        }
    }
}
