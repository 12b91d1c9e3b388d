//! The admin CLI, run as the real binary against the test's database while the server runs.

use std::process::{Command, Output};

use crate::helpers::*;

fn cli(app: &TestApp, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-server"));
    // Only this test's settings: none a developer exported.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AUTH_SERVER__") {
            command.env_remove(name);
        }
    }
    let output = command
        .args(args)
        .env("AUTH_SERVER__DATABASE__URL", &app.db.url)
        .env("AUTH_SERVER__SECURITY__BCRYPT_COST", "4")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run auth-server");
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn field(output: &Output, name: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {stdout}"))
        .to_owned()
}

shared_core::on_both_backends! {
    async fn the_tutorials_client_create_command_works_exactly_so(backend) {
        let app = spawn_app(backend).await;
        cli(&app, &[
            "client", "create", "--name", "resource-server", "--client-id", "rs-id-2", "--client-secret", "rs-secret-2",
            "--grant-types", "password,refresh_token,client_credentials", "--scopes", "read,write,introspection",
        ]);
        let response = app.post_as("/o/token/", "rs-id-2", "rs-secret-2", &[("grant_type", "client_credentials"), ("scope", "introspection")]).await;
        assert_eq!(response.status(), 200);
        let listed = String::from_utf8(cli(&app, &["client", "list"]).stdout).unwrap();
        assert!(listed.contains("rs-id-2") && !listed.contains("rs-secret-2"));
    }

    async fn generated_credentials_work_and_rotation_retires_the_old_secret_at_once(backend) {
        let app = spawn_app(backend).await;
        let created = cli(&app, &["client", "create", "--name", "gen", "--grant-types", "client_credentials", "--scopes", "read"]);
        let (id, secret) = (field(&created, "client_id"), field(&created, "client_secret"));
        assert_eq!(id.len(), 43);
        assert_eq!(secret.len(), 43);
        let form = [("grant_type", "client_credentials")];
        assert_eq!(app.post_as("/o/token/", &id, &secret, &form).await.status(), 200);
        // Twice, so that the second is answered from the verified-secret memory.
        assert_eq!(app.post_as("/o/token/", &id, &secret, &form).await.status(), 200);

        let rotated = field(&cli(&app, &["client", "rotate-secret", &id]), "client_secret");
        assert_oauth_error(app.post_as("/o/token/", &id, &secret, &form).await, 401, "invalid_client").await;
        assert_eq!(app.post_as("/o/token/", &id, &rotated, &form).await.status(), 200);

        cli(&app, &["client", "delete", &id]);
        assert_oauth_error(app.post_as("/o/token/", &id, &rotated, &form).await, 401, "invalid_client").await;
    }

    async fn users_created_by_the_cli_can_log_in(backend) {
        let app = spawn_app(backend).await;
        cli(&app, &["user", "create", "--email", "Admin@Example.com", "--password", PASSWORD]);
        app.password_grant("admin@example.com", PASSWORD).await;
        cli(&app, &["migrate"]);
    }
}
