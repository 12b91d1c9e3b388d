//! `GET /o/revocations/`: every path that ends tokens appends an event, streamed to introspection callers.

use std::time::Duration;

use auth_server::service::admin;
use auth_server::service::janitor::sweep;
use serde_json::{json, Value};
use shared_core::token_digest;

use crate::helpers::*;

/// One Server-Sent Events message: `(id, event, data)`.
type Message = (Option<i64>, String, Value);

/// A reader of the stream, as a resource server is (its own minimal parser: the one under test is the
/// server's output, not a parser shared with it).
struct Reader {
    response: reqwest::Response,
    buffer: String,
}

impl Reader {
    async fn open(app: &TestApp, last_event_id: Option<&str>) -> Reader {
        let mut request = app.http.get(app.url("/o/revocations/")).basic_auth(RS_ID, Some(RS_SECRET));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Reader { response, buffer: String::new() }
    }

    /// The next message that is not a comment, within 5 s.
    async fn next(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                while let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let (mut id, mut event, mut data) = (None, String::new(), Value::Null);
                    for line in block.lines() {
                        match line.split_once(": ") {
                            Some(("id", value)) => id = Some(value.parse().unwrap()),
                            Some(("event", value)) => event = value.to_owned(),
                            Some(("data", value)) => data = serde_json::from_str(value).unwrap(),
                            _ => {}
                        }
                    }
                    if !event.is_empty() {
                        return (id, event, data);
                    }
                }
                let chunk = self.response.chunk().await.unwrap().expect("the stream stays open");
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("a message within 5 s")
    }

    /// The next message, which must be a revocation: its id and data.
    async fn revocation(&mut self) -> (i64, Value) {
        let (id, event, data) = self.next().await;
        assert_eq!(event, "revocation", "{data}");
        (id.expect("a revocation has an id"), data)
    }
}

fn digests(data: &Value) -> Vec<&str> {
    assert_eq!(data["type"], "tokens", "{data}");
    data["digests"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect()
}

shared_core::on_both_backends! {
    async fn every_path_that_ends_tokens_streams_what_ended(backend) {
        let app = spawn_app(backend).await;
        let mut reader = Reader::open(&app, None).await;
        assert_eq!(reader.next().await.1, "ready");

        // RFC 7009 revocation of an access token.
        let tokens = app.user_with_tokens("events@example.com").await;
        let access = str_of(&tokens, "access_token").to_owned();
        assert_eq!(app.post_as_rs("/o/revoke_token/", &[("token", &access)]).await.status(), 200);
        let (first, data) = reader.revocation().await;
        assert_eq!(digests(&data), [token_digest(&access)]);

        // Refresh rotation ends the access token issued with the old refresh token.
        let tokens = app.password_grant("events@example.com", PASSWORD).await;
        let (access, refresh) = (str_of(&tokens, "access_token").to_owned(), str_of(&tokens, "refresh_token").to_owned());
        let rotated: Value = app.refresh(&refresh).await.json().await.unwrap();
        let (second, data) = reader.revocation().await;
        assert!(second > first, "ids increase");
        assert_eq!(digests(&data), [token_digest(&access)]);

        // Reuse of the retired refresh token ends the family: the rotated access token.
        assert_oauth_error(app.refresh(&refresh).await, 400, "invalid_grant").await;
        let (_, data) = reader.revocation().await;
        assert_eq!(digests(&data), [token_digest(str_of(&rotated, "access_token"))]);

        // A password change ends every other token of the user, keeping the one it was made with.
        let tokens = app.password_grant("events@example.com", PASSWORD).await;
        let bearer = str_of(&tokens, "access_token");
        let change = json!({"old_password": PASSWORD, "password": "another-horse-battery", "password2": "another-horse-battery"});
        let response = app.http.put(app.url("/users/password/")).bearer_auth(bearer).json(&change).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let (_, data) = reader.revocation().await;
        assert_eq!(data["type"], "user");
        assert_eq!(data["sub"], app.introspect(bearer).await["sub"]);
        assert_eq!(data["kept"], token_digest(bearer));
        assert!(data["issued_before"].as_i64().unwrap() >= app.introspect(bearer).await["iat"].as_i64().unwrap());

        // `user revoke-tokens` (admin CLI) ends every token of the user, keeping none.
        let tokens = app.password_grant("events@example.com", "another-horse-battery").await;
        let subject = app.introspect(str_of(&tokens, "access_token")).await["sub"].clone();
        admin::revoke_user_tokens(&app.pool, "events@example.com").await.unwrap();
        let (_, data) = reader.revocation().await;
        assert_eq!((data["type"].as_str(), &data["sub"], &data["kept"]), (Some("user"), &subject, &Value::Null));
        assert!(!app.is_active(str_of(&tokens, "access_token")).await);
        assert_eq!(app.refresh(str_of(&tokens, "refresh_token")).await.status(), 400);

        // Deleting a client (admin CLI) ends all of its tokens.
        app.create_client("doomed", Some("doomed-secret"), "client_credentials", "read").await;
        admin::delete_client(&app.pool, "doomed").await.unwrap();
        let (_, data) = reader.revocation().await;
        assert_eq!(data["type"], "client");
        assert_eq!(data["client_id"], "doomed");

        // Revoking what is already dead, or unknown, tells nobody anything.
        assert_eq!(app.post_as_rs("/o/revoke_token/", &[("token", &access)]).await.status(), 200);
        assert_eq!(app.post_as_rs("/o/revoke_token/", &[("token", "unknown")]).await.status(), 200);
        app.create_client("marker", Some("marker-secret"), "client_credentials", "read").await;
        admin::delete_client(&app.pool, "marker").await.unwrap();
        assert_eq!(reader.revocation().await.1["client_id"], "marker", "nothing came before the marker");
    }

    async fn a_reader_resumes_after_its_last_event_and_starts_over_when_the_log_was_pruned(backend) {
        let app = spawn_app(backend).await;
        let (a, b) = (app.client_credentials("read").await, app.client_credentials("read").await);
        for token in [&a, &b] {
            assert_eq!(app.post_as_rs("/o/revoke_token/", &[("token", token)]).await.status(), 200);
        }
        // From before the first event: both, then ready.
        let mut reader = Reader::open(&app, Some("0")).await;
        let (first, data) = reader.revocation().await;
        assert_eq!(digests(&data), [token_digest(&a)]);
        let (second, data) = reader.revocation().await;
        assert_eq!(digests(&data), [token_digest(&b)]);
        assert_eq!(reader.next().await.1, "ready");
        // From the first: only the second.
        let mut reader = Reader::open(&app, Some(&first.to_string())).await;
        assert_eq!(reader.revocation().await.0, second);
        assert_eq!(reader.next().await.1, "ready");
        // A new reader gets nothing old.
        let mut reader = Reader::open(&app, None).await;
        assert_eq!(reader.next().await.1, "ready");

        // The janitor prunes every event but the newest: a reader from before them cannot be told what it
        // missed, and is told to start over.
        let c = app.client_credentials("read").await;
        assert_eq!(app.post_as_rs("/o/revoke_token/", &[("token", &c)]).await.status(), 200);
        assert!(sweep(&app.pool, 100, 3600, -60).await.unwrap() >= 2);
        let mut reader = Reader::open(&app, Some(&first.to_string())).await;
        assert_eq!(reader.next().await.1, "reset");
        assert_eq!(reader.next().await.1, "ready");
        // One that saw the second event is still in the log's reach.
        let mut reader = Reader::open(&app, Some(&second.to_string())).await;
        assert_eq!(digests(&reader.revocation().await.1), [token_digest(&c)]);
        assert_eq!(reader.next().await.1, "ready");
    }

    async fn only_callers_allowed_to_introspect_may_read_the_stream(backend) {
        let app = spawn_app(backend).await;
        let url = app.url("/o/revocations/");
        let anonymous = app.http.get(&url).send().await.unwrap();
        assert_oauth_error(anonymous, 401, "invalid_client").await;
        let wrong = app.http.get(&url).basic_auth(RS_ID, Some("wrong")).send().await.unwrap();
        assert_oauth_error(wrong, 401, "invalid_client").await;
        app.create_client("reader", Some("reader-secret"), "client_credentials", "read").await;
        let forbidden = app.http.get(&url).basic_auth("reader", Some("reader-secret")).send().await.unwrap();
        assert_eq!(forbidden.status(), 403);
        let garbage = app.http.get(&url).bearer_auth("not-a-token").send().await.unwrap();
        assert_eq!(garbage.status(), 401);
        let bad_id = app.http.get(&url).basic_auth(RS_ID, Some(RS_SECRET)).header("Last-Event-ID", "x").send().await.unwrap();
        assert_oauth_error(bad_id, 400, "invalid_request").await;
        // A bearer token with the introspection scope reads it, as it may introspect.
        let bearer = app.client_credentials("introspection").await;
        let response = app.http.get(&url).bearer_auth(&bearer).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let post = app.post_as_rs("/o/revocations/", &[]).await;
        assert_eq!(post.status(), 405);
    }
}
