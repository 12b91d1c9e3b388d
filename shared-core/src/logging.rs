//! Both servers' log lines, written by env_logger (the project's logger). `log.format = "text"` reads well
//! in a terminal; `"json"` feeds a log pipeline: one object a line with `time`, `level`, `target`,
//! `message` and `request_id`. Every line written while a request is answered carries that request's id
//! (the task-local [`request_context`](crate::request_context)); audit lines are JSON in both formats.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::request_context;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The `[log]` section of both servers' settings (the level stays `RUST_LOG`'s, as env_logger reads it).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct LogSettings {
    pub format: LogFormat,
}

/// Installs env_logger with `format`; the level comes from `RUST_LOG` (default `info`).
pub fn init(format: LogFormat) {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    match format {
        LogFormat::Text => builder.format(text),
        LogFormat::Json => builder.format(json),
    };
    builder.init();
}

/// `[time LEVEL target request-id] message`; audit lines bare, so that each is a JSON document.
fn text(buf: &mut env_logger::fmt::Formatter, record: &log::Record<'_>) -> std::io::Result<()> {
    if record.target() == crate::audit::TARGET {
        return writeln!(buf, "{}", record.args());
    }
    let level_style = buf.default_level_style(record.level());
    let timestamp = buf.timestamp();
    request_context::with_request_id(|id| {
        let id = id.map(|id| format!(" {id}")).unwrap_or_default();
        writeln!(
            buf,
            "[{timestamp} {level_style}{:<5}{level_style:#} {}{id}] {}",
            record.level(),
            record.target(),
            record.args()
        )
    })
}

fn json(buf: &mut env_logger::fmt::Formatter, record: &log::Record<'_>) -> std::io::Result<()> {
    let time = chrono::Utc::now();
    let line = request_context::with_request_id(|id| json_line(record, time, id));
    writeln!(buf, "{line}")
}

/// One JSON object. An audit line is already one, with its own time and request id: `level` and `target`
/// are put in front of its fields.
fn json_line(record: &log::Record<'_>, time: chrono::DateTime<chrono::Utc>, request_id: Option<&str>) -> String {
    let message = record.args().to_string();
    if record.target() == crate::audit::TARGET {
        if let Some(fields) = message.strip_prefix('{') {
            return format!(r#"{{"level":"{}","target":"{}",{fields}"#, record.level(), crate::audit::TARGET);
        }
    }
    serde_json::json!({
        "time": time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "level": record.level().as_str(),
        "target": record.target(),
        "message": message,
        "request_id": request_id,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(target: &str, message: std::fmt::Arguments<'_>, request_id: Option<&str>) -> serde_json::Value {
        let record = log::Record::builder().target(target).level(log::Level::Warn).args(message).build();
        let time = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let text = json_line(&record, time, request_id);
        assert!(!text.contains('\n'), "{text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn a_json_line_has_time_level_target_message_and_request_id() {
        let value = line("auth_server::x", format_args!("a \"quoted\"\nmessage"), Some("r-1"));
        assert_eq!(
            value,
            serde_json::json!({"time": "2027-01-15T08:00:00.000Z", "level": "WARN", "target": "auth_server::x",
                "message": "a \"quoted\"\nmessage", "request_id": "r-1"})
        );
        assert!(line("t", format_args!("m"), None)["request_id"].is_null());
    }

    #[test]
    fn an_audit_line_keeps_its_fields_with_level_and_target_added() {
        let value = line("audit", format_args!(r#"{{"time":"t","event":"login_failed","request_id":"r-2"}}"#), None);
        assert_eq!(value["event"], "login_failed");
        assert_eq!(value["request_id"], "r-2");
        assert_eq!(value["target"], "audit");
        assert_eq!(value["level"], "WARN");
    }
}
