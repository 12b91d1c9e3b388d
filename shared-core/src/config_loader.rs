//! Layered configuration, the same for both servers: built-in defaults, then an optional TOML file, then
//! environment variables (`PREFIX__SECTION__KEY`).

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Loads `T` from `defaults` (TOML text), then `file` when given (it must exist), then the environment
/// variables `ENV_PREFIX__SECTION__KEY` when `env_prefix` is given. Tests pass `None`, so that a developer's
/// exported variables cannot change their outcome.
pub fn load<T: DeserializeOwned>(
    defaults: &str,
    file: Option<&Path>,
    env_prefix: Option<&str>,
) -> Result<T, config::ConfigError> {
    let mut builder = config::Config::builder().add_source(config::File::from_str(defaults, config::FileFormat::Toml));
    if let Some(path) = file {
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml).required(true));
    }
    if let Some(prefix) = env_prefix {
        builder = builder.add_source(
            config::Environment::with_prefix(prefix).prefix_separator("__").separator("__").try_parsing(true),
        );
    }
    builder.build()?.try_deserialize()
}

/// The dotted keys (`section.key`) set in `defaults` that `file` does not set: an example file that names
/// every setting stays complete as settings are added.
pub fn keys_missing_from(defaults: &str, file: &Path) -> Result<Vec<String>, config::ConfigError> {
    let table = |source: config::Config| source.try_deserialize::<serde_json::Map<String, serde_json::Value>>();
    let defaults = table(
        config::Config::builder().add_source(config::File::from_str(defaults, config::FileFormat::Toml)).build()?,
    )?;
    let file = table(
        config::Config::builder().add_source(config::File::from(file).format(config::FileFormat::Toml)).build()?,
    )?;
    let mut missing = Vec::new();
    for (key, value) in &defaults {
        match (value, file.get(key)) {
            (serde_json::Value::Object(section), Some(serde_json::Value::Object(given))) => {
                missing.extend(section.keys().filter(|k| !given.contains_key(*k)).map(|k| format!("{key}.{k}")));
            }
            (_, None) => missing.push(key.clone()),
            _ => {}
        }
    }
    Ok(missing)
}

/// `[http]` settings, the same for both servers.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HttpSettings {
    pub host: String,
    pub port: u16,
    /// actix-web worker threads; 0 means one per CPU.
    #[serde(default)]
    pub workers: usize,
    /// How long a request body may take to arrive in full; slower senders get 408 and are cut off.
    #[serde(default = "default_body_timeout_ms")]
    pub body_timeout_ms: u64,
    /// Proxies (addresses or CIDR blocks) whose `Forwarded` / `X-Forwarded-For` headers name the client
    /// (rate limits, the audit trail) and whose forwarded host names may appear in links. Empty: the socket's
    /// peer is the client, and forwarding headers are ignored.
    #[serde(default, deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
}

fn default_body_timeout_ms() -> u64 {
    5_000
}

/// Accepts a list either as a TOML/JSON array or as one string separated by commas and/or spaces, so that
/// `AUTH_SERVER__SCOPES=read,write` works from the environment.
pub fn string_or_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::One(text) => split_list(&text),
        Raw::Many(items) => items.iter().flat_map(|s| split_list(s)).collect(),
    })
}

pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Serializes a secret setting as `"<redacted>"` (empty when unset), for `config check`.
pub fn redact<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(if value.is_empty() { "" } else { "<redacted>" })
}

/// [`redact`] for an optional secret.
pub fn redact_option<S: Serializer>(value: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => serializer.serialize_str("<redacted>"),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_commas_and_spaces() {
        assert_eq!(split_list("read, write introspection"), ["read", "write", "introspection"]);
        assert!(split_list(" , ").is_empty());
    }
}
