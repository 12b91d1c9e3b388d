//! Revocation events: what the auth server tells resource servers when tokens end before their `exp`, on
//! its Server-Sent Events stream (`GET /o/revocations/`). Each event names what a resource server must stop
//! trusting: tokens by the SHA-256 digest it caches them under, or every token of a user or of a client
//! issued before a time.

use serde::{Deserialize, Serialize};

/// The SSE event name of a revocation (`event: revocation`, `data:` its JSON).
pub const REVOCATION: &str = "revocation";
/// Sent once the events a reader asked to resume from are all sent: from then on it is up to date.
pub const READY: &str = "ready";
/// The log no longer holds every event after the reader's `Last-Event-ID` (pruned, or another database):
/// the reader must drop everything it trusts.
pub const RESET: &str = "reset";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RevocationEvent {
    /// These tokens ended: lower-case hex SHA-256 digests of the tokens (access tokens, opaque or JWT).
    Tokens { digests: Vec<String> },
    /// Every token of the user with this `sub` issued before `issued_before` (Unix seconds) ended, except
    /// the one whose digest is `kept` (a password change keeps the token it was made with). `iat` counts
    /// whole seconds, so the tokens that ended and were issued in the second of `issued_before` itself are
    /// named by their `digests`.
    User {
        sub: String,
        issued_before: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kept: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        digests: Vec<String>,
    },
    /// Every token of this client issued before `issued_before` ended (the client was deleted).
    Client { client_id: String, issued_before: i64 },
}

impl RevocationEvent {
    /// One SSE message: `id`, `event` and `data` lines, then a blank line.
    pub fn to_sse(&self, id: i64) -> String {
        // serde_json never writes a raw newline, so the data fits on one `data:` line.
        let data = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        format!("id: {id}\nevent: {REVOCATION}\ndata: {data}\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_json() {
        let events = [
            RevocationEvent::Tokens { digests: vec!["ab".into()] },
            RevocationEvent::User { sub: "u".into(), issued_before: 5, kept: Some("cd".into()), digests: vec![] },
            RevocationEvent::Client { client_id: "c".into(), issued_before: 7 },
        ];
        for event in events {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<RevocationEvent>(&json).unwrap(), event);
        }
        assert_eq!(
            RevocationEvent::Tokens { digests: vec!["ab".into()] }.to_sse(3),
            "id: 3\nevent: revocation\ndata: {\"type\":\"tokens\",\"digests\":[\"ab\"]}\n\n"
        );
    }
}
