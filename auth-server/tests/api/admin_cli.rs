//! The admin CLI, run as the real binary against the test's database while the server runs.

use std::process::{Command, Output};

use crate::browser::*;
use crate::helpers::*;

pub(crate) fn cli(app: &TestApp, args: &[&str]) -> Output {
    let output = run(app, args);
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The command's output, succeeded or not.
pub(crate) fn run(app: &TestApp, args: &[&str]) -> Output {
    command(app, args).output().expect("run auth-server")
}

/// The real binary with `args`, on the test's database, logging warnings only.
pub(crate) fn command(app: &TestApp, args: &[&str]) -> Command {
    let mut command =
        shared_core::testing::command_without_settings(env!("CARGO_BIN_EXE_auth-server"), "AUTH_SERVER__");
    command
        .args(args)
        .env("AUTH_SERVER__DATABASE__URL", &app.db.url)
        .env("AUTH_SERVER__SECURITY__BCRYPT_COST", "4")
        .env("RUST_LOG", "warn");
    command
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"].as_array().unwrap().iter().map(|key| key["kid"].as_str().unwrap().to_owned()).collect()
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
    async fn user_revoke_tokens_ends_every_token_of_the_user(backend) {
        let app = spawn_app(backend).await;
        let tokens = app.user_with_tokens("revoked@example.com").await;
        let output = cli(&app, &["user", "revoke-tokens", "Revoked@Example.com"]);
        assert!(stdout(&output).contains("revoked every token"), "{}", stdout(&output));
        assert!(!app.is_active(str_of(&tokens, "access_token")).await);
        assert_eq!(app.refresh(str_of(&tokens, "refresh_token")).await.status(), 400);
        assert!(!run(&app, &["user", "revoke-tokens", "nobody@example.com"]).status.success());
    }

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

    async fn a_client_id_that_starts_with_a_hyphen_is_an_argument_not_an_option(backend) {
        let app = spawn_app(backend).await;
        let id = "-dash-first";
        cli(&app, &["client", "create", "--name", "dash", &format!("--client-id={id}"),
            "--grant-types", "client_credentials", "--scopes", "read"]);
        assert!(String::from_utf8_lossy(&cli(&app, &["client", "show", id]).stdout).contains(id));
        cli(&app, &["client", "update", id, "--scopes", "read"]);
        let rotated = field(&cli(&app, &["client", "rotate-secret", id]), "client_secret");
        let form = [("grant_type", "client_credentials")];
        assert_eq!(app.post_as("/o/token/", id, &rotated, &form).await.status(), 200);
        cli(&app, &["client", "delete", id]);
        assert_oauth_error(app.post_as("/o/token/", id, &rotated, &form).await, 401, "invalid_client").await;
    }

    async fn users_created_by_the_cli_can_log_in(backend) {
        let app = spawn_app(backend).await;
        cli(&app, &["user", "create", "--email", "Admin@Example.com", "--password", PASSWORD]);
        app.password_grant("admin@example.com", PASSWORD).await;
        cli(&app, &["migrate"]);
    }

    async fn a_code_flow_client_is_created_listed_and_updated_without_touching_its_secret(backend) {
        let app = spawn_app(backend).await;
        cli(&app, &[
            "client", "create", "--name", "Web", "--client-id", "web-cli", "--client-secret", "web-cli-secret",
            "--grant-types", "authorization_code,refresh_token", "--scopes", "openid,read",
            "--redirect-uris", "https://app.example/cb", "--allowed-origins", "https://app.example", "--skip-consent",
        ]);
        let listed = stdout(&cli(&app, &["client", "list"]));
        assert!(listed.contains("redirect_uris: https://app.example/cb\n"), "{listed}");
        assert!(listed.contains("allowed_origins: https://app.example\n"), "{listed}");
        assert!(listed.contains("consent: skipped"), "{listed}");
        assert!(listed.contains("pkce: required"), "{listed}");
        assert!(listed.contains("access_token_format: opaque\n"), "the default: {listed}");
        let form = [("grant_type", "client_credentials"), ("scope", "write")];
        assert_oauth_error(app.post_as("/o/token/", "web-cli", "web-cli-secret", &form).await, 400, "unauthorized_client").await;

        cli(&app, &[
            "client", "update", "web-cli", "--grant-types", "authorization_code,refresh_token,client_credentials",
            "--scopes", "openid,read,write", "--redirect-uris", "https://app.example/cb,https://app.example/cb2",
            "--skip-consent", "false", "--access-token-format", "jwt",
        ]);
        assert_eq!(app.post_as("/o/token/", "web-cli", "web-cli-secret", &form).await.status(), 200, "same secret, new grant and scope");
        let listed = stdout(&cli(&app, &["client", "list"]));
        assert!(listed.contains("redirect_uris: https://app.example/cb https://app.example/cb2\n"), "{listed}");
        assert!(listed.contains("allowed_origins: https://app.example\n"), "untouched: {listed}");
        assert!(!listed.contains("consent: skipped"), "{listed}");
        assert!(listed.contains("access_token_format: jwt\n"), "{listed}");
        let token: serde_json::Value = app.post_as("/o/token/", "web-cli", "web-cli-secret", &form).await.json().await.unwrap();
        assert_eq!(jsonwebtoken::decode_header(str_of(&token, "access_token")).unwrap().typ.as_deref(), Some("at+jwt"));
        assert!(!run(&app, &["client", "update", "web-cli", "--access-token-format", "paseto"]).status.success());

        for bad in ["http://evil.example/cb", "https://app.example/*", "https://app.example/cb#frag"] {
            let refused = run(&app, &["client", "update", "web-cli", "--redirect-uris", bad]);
            assert!(!refused.status.success(), "{bad} accepted");
        }
        assert!(stdout(&cli(&app, &["client", "list"])).contains("https://app.example/cb2"), "a refused update changes nothing");
    }

    async fn resources_are_registered_listed_and_deleted_and_clients_limited_to_some(backend) {
        let app = spawn_app(backend).await;
        cli(&app, &["resource", "create", "--identifier", "https://api.example.com", "--scopes", "read,write", "--name", "Items API"]);
        assert!(!run(&app, &["resource", "create", "--identifier", "https://api.example.com", "--scopes", "read"]).status.success(), "taken");
        assert!(!run(&app, &["resource", "create", "--identifier", "api", "--scopes", "read"]).status.success(), "not a URI");
        assert!(!run(&app, &["resource", "create", "--identifier", "https://x.example", "--scopes", "nope"]).status.success(), "unknown scope");
        let listed = stdout(&cli(&app, &["resource", "list"]));
        assert!(listed.contains("https://api.example.com  (Items API)\n    scopes: read write\n"), "{listed}");

        cli(&app, &["client", "update", RS_ID, "--audiences", "https://api.example.com"]);
        assert!(stdout(&cli(&app, &["client", "list"])).contains("audiences: https://api.example.com\n"));
        let form = [("grant_type", "client_credentials"), ("scope", "read"), ("resource", "https://api.example.com")];
        assert_eq!(app.post_as_rs("/o/token/", &form).await.status(), 200);

        cli(&app, &["resource", "delete", "https://api.example.com"]);
        assert!(!stdout(&cli(&app, &["resource", "list"])).contains("api.example.com"));
        assert_oauth_error(app.post_as_rs("/o/token/", &form).await, 400, "invalid_target").await;
        assert!(!run(&app, &["resource", "delete", "https://api.example.com"]).status.success(), "already gone");
    }

    async fn a_rotated_key_signs_and_the_old_one_stays_published_until_what_it_signed_expired(backend) {
        let app = spawn_app(backend).await;
        let first = kids(&app.get("/o/jwks/").await.json().await.unwrap());
        assert_eq!(first.len(), 1);
        let listed = stdout(&cli(&app, &["keys", "list"]));
        assert!(listed.contains(&format!("{}  RS256", first[0])) && listed.contains("active (signs)"), "{listed}");

        let rotated = stdout(&cli(&app, &["keys", "rotate"]));
        let listed = stdout(&cli(&app, &["keys", "list"]));
        let new_kid = rotated.split_whitespace().nth(3).unwrap().trim_end_matches(';').to_owned();
        assert_ne!(new_kid, first[0]);
        let line_of = |kid: &str| listed.lines().find(|l| l.starts_with(kid)).unwrap_or_else(|| panic!("{kid} in {listed}")).to_owned();
        assert!(line_of(&new_kid).ends_with("active (signs)"), "{listed}");
        assert!(line_of(&first[0]).contains("published until"), "{listed}");

        // Running servers reload keys every 30 s; a restart loads them at once.
        let app = TestApp { server: auth_server::testing::TestAuthServer::start(app.settings.clone()).await, ..app };
        let published = kids(&app.get("/o/jwks/").await.json().await.unwrap());
        assert_eq!(published.len(), 2, "{published:?}");
        assert!(published.contains(&first[0]) && published.contains(&new_kid));

        app.web_client(web_profile()).await;
        assert_eq!(app.signup("kim@example.com", PASSWORD).await.status(), 201);
        let (verifier, challenge) = pkce_pair();
        let code = Browser::new().code_for(&app, WEB_ID, "kim@example.com", Some(&challenge)).await;
        let tokens: serde_json::Value = app
            .post_as("/o/token/", WEB_ID, WEB_SECRET, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT), ("code_verifier", &verifier)])
            .await.json().await.unwrap();
        let header = jsonwebtoken::decode_header(str_of(&tokens, "id_token")).unwrap();
        assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()), "the new key signs");

        // Once everything the old key signed has expired, it leaves the JWKS and `keys list` says retired.
        let lifetime = app.settings.tokens.access_token_lifetime_secs;
        let later = shared_core::clock::now() + lifetime + 1;
        let keys = auth_server::service::keys::SigningKeys::new(lifetime);
        keys.reload(&app.pool, later).await.unwrap();
        assert_eq!(kids(&serde_json::from_slice(&keys.jwks()).unwrap()), vec![new_kid.clone()]);
        let states = auth_server::service::keys::list(&app.pool, lifetime, later).await.unwrap();
        let old = states.iter().find(|k| k.kid == first[0]).unwrap();
        assert!(matches!(old.state, auth_server::service::keys::KeyState::Retired));
    }
}
