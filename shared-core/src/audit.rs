//! The audit trail: one JSON object a line on the log target `audit`, so that it can be routed apart from
//! the rest (`RUST_LOG=audit=info`, or `audit=off`), with the time, the client's address and the request id
//! of the request that caused it. Events name people and clients, never a secret or a token.

use serde::Serialize;

/// The log target audit lines are written to.
pub const TARGET: &str = "audit";

/// Writes `event` (a struct or a `#[serde(tag = "event")]` enum) as one JSON line on [`TARGET`], with
/// `time`, `ip` and `request_id` added from the request being answered.
pub fn emit(event: &impl Serialize) {
    // Before anything else: with the audit target off, an event costs this check only.
    if !log::log_enabled!(target: TARGET, log::Level::Info) {
        return;
    }
    #[cfg(feature = "actix")]
    let context = crate::request_context::current();
    #[cfg(not(feature = "actix"))]
    let context = Context::default();
    emit_for(&context, event);
}

/// [`emit`] for a request whose context is at hand rather than current.
pub fn emit_for(context: &Context, event: &impl Serialize) {
    if !log::log_enabled!(target: TARGET, log::Level::Info) {
        return;
    }
    log::info!(target: TARGET, "{}", line(event, context, chrono::Utc::now()));
}

#[cfg(feature = "actix")]
pub use crate::request_context::RequestContext as Context;

/// Outside actix there is no request: nothing to add.
#[cfg(not(feature = "actix"))]
#[derive(Debug, Default)]
pub struct Context;

fn line(event: &impl Serialize, context: &Context, time: chrono::DateTime<chrono::Utc>) -> String {
    let mut object = serde_json::Map::new();
    object.insert("time".into(), time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true).into());
    match serde_json::to_value(event) {
        Ok(serde_json::Value::Object(fields)) => object.extend(fields),
        Ok(other) => {
            object.insert("event".into(), other);
        }
        Err(error) => {
            object.insert("event".into(), "unrecordable".into());
            object.insert("error".into(), error.to_string().into());
        }
    }
    #[cfg(feature = "actix")]
    {
        object.insert("ip".into(), context.client_ip.map(|ip| ip.to_string()).into());
        object.insert("request_id".into(), context.request_id.clone().into());
    }
    #[cfg(not(feature = "actix"))]
    let _ = context;
    serde_json::Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(tag = "event", rename_all = "snake_case")]
    enum Example<'a> {
        AccountLocked { user: &'a str, until: i64 },
    }

    #[test]
    fn a_line_is_one_json_object_with_time_and_context() {
        let time = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let text = line(&Example::AccountLocked { user: "u-1", until: 5 }, &Context::default(), time);
        assert!(!text.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["event"], "account_locked");
        assert_eq!(value["user"], "u-1");
        assert_eq!(value["time"], "2027-01-15T08:00:00.000Z");
        assert!(value["ip"].is_null() && value["request_id"].is_null(), "outside of a request: {value}");
    }
}
