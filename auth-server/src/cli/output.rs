//! How an admin command prints its result: text for a person, or one JSON document for a script.

use serde::Serialize;

use crate::startup::StartupError;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON, or `text(value)` (its lines, each ending in a newline).
    pub fn show<T: Serialize>(self, value: &T, text: impl FnOnce(&T) -> String) -> Result<(), StartupError> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            print!("{}", text(value));
        }
        Ok(())
    }
}

/// Epoch seconds as an RFC 3339 UTC time (JSON keeps the epoch seconds: what scripts compare).
pub fn when(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map_or_else(|| epoch.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}
