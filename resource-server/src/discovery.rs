//! Where the authorization server's endpoints are: explicit settings, else its discovery document
//! (RFC 8414 §3, then OpenID Connect Discovery 1.0 §4), else this project's own paths under `base_url`.

use std::time::Duration;

use serde::Deserialize;

use crate::settings::AuthSettings;

const INTROSPECT_PATH: &str = "/o/introspect/";
const TOKEN_PATH: &str = "/o/token/";
const HEALTH_PATH: &str = "/health/live";
const JWKS_PATH: &str = "/o/jwks/";
const REVOCATIONS_PATH: &str = "/o/revocations/";

/// The auth server's endpoints, resolved once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Its issuer identifier: the discovery document's, else `base_url`. Names the users of introspection
    /// answers that carry a `username` but no `sub` and no `iss`.
    pub issuer: String,
    pub introspection: String,
    pub token: String,
    pub health: String,
    /// Where the keys of JWT access tokens are; `None` when discovery names none and no URL is set.
    pub jwks: Option<String>,
    /// The revocation event stream; `None` when turned off, or when discovery names none.
    pub revocations: Option<String>,
    /// `base_url` without a trailing slash: the account endpoints (signup, password change) live under it.
    pub base: String,
}

/// The parts of an RFC 8414 / OpenID Connect discovery document the resource server uses.
#[derive(Debug, Deserialize)]
struct Metadata {
    issuer: String,
    introspection_endpoint: Option<String>,
    token_endpoint: Option<String>,
    jwks_uri: Option<String>,
    /// This project's own (not registered) metadata: where revocation events are streamed.
    revocation_events_endpoint: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// Worth another try: the server is down, starting, or failing.
    #[error("{url} could not be read")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}")]
    Status { url: String, status: reqwest::StatusCode },
    /// A misconfiguration: retrying cannot fix it.
    #[error("{0}")]
    Invalid(String),
}

impl DiscoveryError {
    fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Status { status, .. } => status.is_server_error(),
            Self::Invalid(_) => false,
        }
    }
}

/// The two places a discovery document may be (RFC 8414 §3.1 inserts the well-known segment before the
/// issuer's path; OpenID Connect appends it).
fn document_urls(base: &str) -> Vec<String> {
    let Ok(url) = url::Url::parse(base) else { return vec![] };
    let path = url.path().trim_end_matches('/');
    let origin = url.origin().ascii_serialization();
    let oauth = format!("{origin}/.well-known/oauth-authorization-server{path}");
    let openid = format!("{}/.well-known/openid-configuration", base.trim_end_matches('/'));
    vec![oauth, openid]
}

/// The endpoints without discovery: explicit settings, else this project's paths under `base_url`.
pub fn configured(settings: &AuthSettings) -> Endpoints {
    let base = settings.base_url.trim_end_matches('/').to_owned();
    let or =
        |explicit: &str, path: &str| if explicit.is_empty() { format!("{base}{path}") } else { explicit.to_owned() };
    Endpoints {
        issuer: base.clone(),
        introspection: or(&settings.introspection_url, INTROSPECT_PATH),
        token: or(&settings.token_url, TOKEN_PATH),
        health: or(&settings.health_url, HEALTH_PATH),
        jwks: Some(or(&settings.jwks_url, JWKS_PATH)),
        revocations: settings.revocation_stream.then(|| or(&settings.revocations_url, REVOCATIONS_PATH)),
        base,
    }
}

/// One attempt: the first discovery document found, with explicit settings winning over it.
async fn discover_once(http: &reqwest::Client, settings: &AuthSettings) -> Result<Endpoints, DiscoveryError> {
    let mut last = DiscoveryError::Invalid(format!("auth.base_url {:?} is not a URL", settings.base_url));
    for url in document_urls(&settings.base_url) {
        let response = match http.get(&url).timeout(Duration::from_secs(5)).send().await {
            Ok(response) => response,
            Err(source) => return Err(DiscoveryError::Unreachable { url, source }),
        };
        let status = response.status();
        if !status.is_success() {
            last = DiscoveryError::Status { url, status };
            if status.is_server_error() {
                return Err(last);
            }
            continue;
        }
        let metadata: Metadata = response.json().await.map_err(|e| {
            DiscoveryError::Invalid(format!("{url} is not a discovery document: {}", shared_core::report::Chain(&e)))
        })?;
        return endpoints_from(settings, metadata, url);
    }
    Err(last)
}

fn endpoints_from(settings: &AuthSettings, metadata: Metadata, url: String) -> Result<Endpoints, DiscoveryError> {
    let expected = settings.base_url.trim_end_matches('/');
    // RFC 8414 §3.3 / OpenID Connect Discovery §4.3: a document naming another issuer must not be used.
    if metadata.issuer.trim_end_matches('/') != expected {
        return Err(DiscoveryError::Invalid(format!(
            "{url} names the issuer {:?}, not auth.base_url {expected:?}",
            metadata.issuer
        )));
    }
    let pick = |explicit: &str, discovered: Option<String>, name: &str| match (explicit, discovered) {
        ("", Some(found)) => Ok(found),
        ("", None) => Err(DiscoveryError::Invalid(format!("{url} has no {name}; set auth.{name} to its URL"))),
        (explicit, _) => Ok(explicit.to_owned()),
    };
    let introspection = pick(&settings.introspection_url, metadata.introspection_endpoint, "introspection_endpoint")?;
    let token = pick(&settings.token_url, metadata.token_endpoint, "token_endpoint")?;
    let health = if settings.health_url.is_empty() { url } else { settings.health_url.clone() };
    let jwks = if settings.jwks_url.is_empty() { metadata.jwks_uri } else { Some(settings.jwks_url.clone()) };
    let revocations = match settings.revocations_url.as_str() {
        "" => metadata.revocation_events_endpoint,
        explicit => Some(explicit.to_owned()),
    }
    .filter(|_| settings.revocation_stream);
    Ok(Endpoints {
        issuer: metadata.issuer,
        introspection,
        token,
        health,
        jwks,
        revocations,
        base: expected.to_owned(),
    })
}

/// The endpoints to use: with `auth.discovery`, read from the auth server, retrying with back-off (up to 5 s
/// apart) while it is down or failing; a document that cannot be used is an error at once.
pub async fn resolve(http: &reqwest::Client, settings: &AuthSettings) -> Result<Endpoints, DiscoveryError> {
    if !settings.discovery {
        return Ok(configured(settings));
    }
    let mut wait = Duration::from_millis(200);
    loop {
        match discover_once(http, settings).await {
            Ok(endpoints) => {
                log::info!(
                    "discovered the auth server {}: introspection at {}",
                    endpoints.issuer,
                    endpoints.introspection
                );
                return Ok(endpoints);
            }
            Err(error) if error.is_transient() => {
                log::warn!("discovery: {}; retrying in {wait:?}", shared_core::report::Chain(&error));
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_segment_goes_before_the_issuer_path_for_rfc_8414_and_after_it_for_openid() {
        assert_eq!(
            document_urls("https://sso.example.com/realms/api/"),
            [
                "https://sso.example.com/.well-known/oauth-authorization-server/realms/api",
                "https://sso.example.com/realms/api/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            document_urls("http://127.0.0.1:8000"),
            [
                "http://127.0.0.1:8000/.well-known/oauth-authorization-server",
                "http://127.0.0.1:8000/.well-known/openid-configuration",
            ]
        );
    }
}
