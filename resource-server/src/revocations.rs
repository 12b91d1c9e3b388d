//! Follows the auth server's revocation events (`GET /o/revocations/`, Server-Sent Events) and applies them
//! to the token cache. While the stream is down, cached answers are trusted as if there were none
//! ([`StreamTrust`]); it reconnects with back-off and resumes after the last event it applied, so an outage
//! loses no event (the auth server says `reset` when it no longer has them, and everything is dropped).

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared_core::report::Chain;
use shared_core::revocation::{RevocationEvent, READY, RESET, REVOCATION};

use crate::auth_client::AuthClient;
use crate::introspection::{StreamTrust, TokenValidator};

/// Reconnection waits double from `FIRST_RETRY` up to `LAST_RETRY`.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);
/// An auth server without the stream (404, 405, 501) is asked again this often.
const UNSUPPORTED_RETRY: Duration = Duration::from_secs(60);

pub struct Subscriber {
    pub auth: Arc<AuthClient>,
    pub tokens: TokenValidator,
    pub trust: Arc<StreamTrust>,
    /// A stream silent for this long is taken for lost.
    pub idle: Duration,
}

/// Why one connection ended.
enum Ended {
    /// The auth server has no stream.
    Unsupported,
    /// A failure worth retrying soon; `caught_up`: it had been live (the back-off starts over).
    Lost { reason: String, caught_up: bool },
}

impl Subscriber {
    /// Runs until the task is aborted.
    pub async fn run(self, url: String) {
        let mut last_event_id = None;
        let mut wait = FIRST_RETRY;
        let mut reported = false;
        loop {
            match self.follow(&url, &mut last_event_id).await {
                Ended::Unsupported => {
                    log::warn!(
                        "{url} has no revocation events: cached tokens are trusted for cache.ttl_without_stream_secs"
                    );
                    self.trust.off();
                    tokio::time::sleep(UNSUPPORTED_RETRY).await;
                    continue;
                }
                Ended::Lost { reason, caught_up } => {
                    self.trust.lost(Instant::now());
                    if caught_up {
                        wait = FIRST_RETRY;
                        reported = false;
                    }
                    if !reported {
                        log::warn!("revocation stream lost ({reason}); cached tokens are due until it resumes");
                        reported = true;
                    }
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(LAST_RETRY);
        }
    }

    /// One connection: reads events until the stream ends or falls silent.
    async fn follow(&self, url: &str, last_event_id: &mut Option<i64>) -> Ended {
        let lost = |reason: String, caught_up| Ended::Lost { reason, caught_up };
        let response = match tokio::time::timeout(self.idle, self.auth.revocation_stream(url, *last_event_id)).await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => return lost(Chain(&error).to_string(), false),
            Err(_) => return lost("no answer".into(), false),
        };
        let status = response.status().as_u16();
        if matches!(status, 404 | 405 | 501) {
            return Ended::Unsupported;
        }
        if status != 200 {
            return lost(format!("the auth server answered {status}"), false);
        }
        let mut response = response;
        let mut parser = Parser::default();
        let mut caught_up = false;
        loop {
            let chunk = match tokio::time::timeout(self.idle, response.chunk()).await {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => return lost("the auth server closed it".into(), caught_up),
                Ok(Err(error)) => return lost(Chain(&error).to_string(), caught_up),
                Err(_) => return lost(format!("silent for {:?}", self.idle), caught_up),
            };
            for message in parser.push(&chunk) {
                match message.event.as_str() {
                    REVOCATION => {
                        match serde_json::from_str::<RevocationEvent>(&message.data) {
                            Ok(event) => self.tokens.apply(event).await,
                            // An event this version does not know: nothing it could drop is known either.
                            Err(error) => log::warn!("ignoring a revocation event: {error}"),
                        }
                        if let Some(id) = message.id.as_deref().and_then(|id| id.parse().ok()) {
                            *last_event_id = Some(id);
                        }
                    }
                    RESET => {
                        log::warn!("the auth server no longer has the revocation events since this server's last; dropping every cached token");
                        self.tokens.forget_everything();
                    }
                    READY => {
                        if let Some(id) = message.id.as_deref().and_then(|id| id.parse().ok()) {
                            *last_event_id = Some(id);
                        }
                        if !caught_up {
                            caught_up = true;
                            self.trust.live();
                            log::info!("revocation stream live");
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// One Server-Sent Events message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// The Server-Sent Events format (WHATWG HTML §9.2.6), as much as this stream uses: `id`, `event`, `data`
/// and comments, lines ending in LF or CRLF, a blank line ending each message.
#[derive(Default)]
pub struct Parser {
    pending: Vec<u8>,
    message: Message,
}

/// A message larger than this is refused rather than buffered without end.
const MAX_PENDING: usize = 1 << 20;

impl Parser {
    /// Feeds `bytes`; returns the messages they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Message> {
        self.pending.extend_from_slice(bytes);
        let mut done = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                let message = std::mem::take(&mut self.message);
                if !message.event.is_empty() || !message.data.is_empty() {
                    done.push(message);
                }
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => self.message.id = Some(value.to_owned()),
                "event" => value.clone_into(&mut self.message.event),
                "data" => {
                    if !self.message.data.is_empty() {
                        self.message.data.push('\n');
                    }
                    self.message.data.push_str(value);
                }
                // A comment (the keep-alive) or a field this stream does not use.
                _ => {}
            }
        }
        if self.pending.len() > MAX_PENDING {
            self.pending.clear();
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_split_on_blank_lines_whatever_the_chunks_and_line_endings() {
        let mut parser = Parser::default();
        assert!(parser.push(b"id: 7\nevent: revoc").is_empty());
        let done = parser.push(b"ation\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\nevent: ready\ndata: {}\n\n");
        assert_eq!(
            done,
            [
                Message { id: Some("7".into()), event: "revocation".into(), data: "{\"a\":1}".into() },
                Message { id: None, event: "ready".into(), data: "{}".into() },
            ]
        );
    }
}
