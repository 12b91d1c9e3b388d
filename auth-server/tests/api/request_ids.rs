//! Request ids: a caller's sane `X-Request-Id` is kept, any other request gets one made here; the id is
//! echoed, carried by every log line the request causes, and the real binary's JSON log lines parse.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use shared_core::request_context::well_formed_request_id;
use shared_core::testing::LogCapture;

use crate::helpers::*;

async fn request_id_of(app: &TestApp, sent: Option<&str>) -> String {
    let mut request = app.http.get(app.url("/health/live"));
    if let Some(id) = sent {
        request = request.header("X-Request-Id", id);
    }
    let response = request.send().await.unwrap();
    let id = response.headers().get("x-request-id").expect("every answer names its request id");
    id.to_str().unwrap().to_owned()
}

shared_core::on_both_backends! {
    async fn every_answer_names_its_request_id_the_callers_when_sane(backend) {
        let app = spawn_app(backend).await;
        assert_eq!(request_id_of(&app, Some("trace-7f3:a.b_c")).await, "trace-7f3:a.b_c");
        let (first, second) = (request_id_of(&app, None).await, request_id_of(&app, None).await);
        assert_ne!(first, second);
        assert!(well_formed_request_id(&first), "{first}");
        for insane in ["has space", &"x".repeat(129)] {
            let made = request_id_of(&app, Some(insane)).await;
            assert!(made != insane && well_formed_request_id(&made), "{insane:?} -> {made:?}");
        }
    }

    async fn the_log_lines_a_request_causes_carry_its_id(backend) {
        let logs = LogCapture::install();
        let app = spawn_app(backend).await;
        let id = format!("trace-{}", uuid::Uuid::new_v4().simple());
        let wrong = [("grant_type", "password"), ("username", "nobody-here@example.com"), ("password", "wrong-1")];
        let response = app
            .http
            .post(app.url("/o/token/"))
            .basic_auth(RS_ID, Some(RS_SECRET))
            .header("X-Request-Id", &id)
            .form(&wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let lines: Vec<_> = logs.lines().into_iter().filter(|line| line.request_id.as_deref() == Some(id.as_str())).collect();
        let access = lines.iter().find(|line| line.target == "access").unwrap_or_else(|| panic!("no access line: {lines:#?}"));
        assert!(access.message.contains("POST /o/token/ 400"), "{}", access.message);
        let audit = lines.iter().find(|line| line.target == "audit").unwrap_or_else(|| panic!("no audit line: {lines:#?}"));
        assert!(audit.message.contains("login_failed"), "{}", audit.message);
    }
}

/// The real binary with `log.format = "json"`: every line it writes is one JSON object, and a request's
/// lines carry its id.
#[tokio::test]
async fn json_log_lines_parse_and_carry_the_request_id() {
    let db = shared_core::testing::TestDatabase::create(shared_core::testing::Backend::Sqlite, "json_log");
    let mut command =
        shared_core::testing::command_without_settings(env!("CARGO_BIN_EXE_auth-server"), "AUTH_SERVER__");
    let mut server = command
        .env("AUTH_SERVER__DATABASE__URL", &db.url)
        .env("AUTH_SERVER__HTTP__PORT", "0")
        .env("AUTH_SERVER__SECURITY__BCRYPT_COST", "4")
        .env("AUTH_SERVER__LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let port = loop {
        let line = lines.next().expect("the server stopped before listening").unwrap();
        seen.push(line.clone());
        if let Some((_, port)) = line.split_once("listening on http://127.0.0.1:") {
            break port.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse::<u16>().unwrap();
        }
    };
    let id = "json-log-probe-1";
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/no-such-page"))
        .header("X-Request-Id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // The access line is written before the answer leaves: it is in the pipe by now.
    let access = loop {
        let line = lines.next().expect("the access line").unwrap();
        seen.push(line.clone());
        if line.contains(id) {
            break line;
        }
    };
    server.kill().unwrap();
    server.wait().unwrap();
    for line in &seen {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        for field in ["time", "level", "target"] {
            assert!(value[field].is_string(), "{field} in {line}");
        }
    }
    let access: serde_json::Value = serde_json::from_str(&access).unwrap();
    assert_eq!((access["target"].as_str(), access["request_id"].as_str()), (Some("access"), Some(id)));
    assert!(access["message"].as_str().unwrap().contains("GET /no-such-page 404"), "{access}");
}
