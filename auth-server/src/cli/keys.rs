//! `keys ...`: the OpenID Connect signing keys.

use std::fmt::Write as _;

use serde::Serialize;
use shared_core::db::DbPool;

use super::output::{when, Output};
use super::{audit_admin, KeysCommand};
use crate::service::keys::{self, KeyState};
use crate::settings::Settings;
use crate::startup::StartupError;

#[derive(Debug, Serialize)]
struct KeyView {
    kid: String,
    algorithm: String,
    created_at: i64,
    /// `active` (signs), `published` (in the JWKS until `published_until`) or `retired`.
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_until: Option<i64>,
}

/// `keys rotate` prints the new key and then the list; `keys list` the list alone.
#[derive(Debug, Serialize)]
struct Keys {
    #[serde(skip_serializing_if = "Option::is_none")]
    rotated: Option<String>,
    keys: Vec<KeyView>,
}

pub(super) async fn keys_command(
    pool: &DbPool,
    command: KeysCommand,
    out: Output,
    settings: &Settings,
) -> Result<(), StartupError> {
    let now = shared_core::clock::now();
    let published_for = settings.tokens.longest_signed_lifetime();
    let mut rotated = None;
    if matches!(command, KeysCommand::Rotate) {
        let kid = keys::rotate(pool, now).await?;
        audit_admin("keys rotate", &kid);
        rotated = Some(kid);
    }
    // The first key is made by the server's first start; `keys list` before that shows none.
    let keys = keys::list(pool, published_for, now).await?;
    let views = keys
        .into_iter()
        .map(|key| {
            let (state, published_until) = match key.state {
                KeyState::Active => ("active", None),
                KeyState::Published { until } => ("published", Some(until)),
                KeyState::Retired => ("retired", None),
            };
            KeyView { kid: key.kid, algorithm: key.algorithm, created_at: key.created_at, state, published_until }
        })
        .collect();
    let shown = Keys { rotated, keys: views };
    if !out.json {
        return out.show(&shown, |shown| text(shown, published_for));
    }
    // `keys list --json` is the array; `keys rotate --json` the object with the new kid.
    match shown.rotated {
        Some(_) => out.show(&shown, |_| String::new()),
        None => out.show(&shown.keys, |_| String::new()),
    }
}

fn text(shown: &Keys, published_for: i64) -> String {
    let mut text = String::new();
    if let Some(kid) = &shown.rotated {
        let _ = writeln!(text, "new signing key {kid}; the previous one stays published for {published_for} s");
    }
    for key in &shown.keys {
        let state = match (key.state, key.published_until) {
            ("active", _) => "active (signs)".to_owned(),
            (_, Some(until)) => format!("published until {}", when(until)),
            (state, None) => state.to_owned(),
        };
        let _ = writeln!(text, "{}  {}  created {}  {state}", key.kid, key.algorithm, when(key.created_at));
    }
    text
}
