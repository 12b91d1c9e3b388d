//! What a client may be registered with: the rules the CLI and the bootstrap settings share, checked before
//! anything is stored.

use super::grants::{AUTHORIZATION_CODE, CLIENT_CREDENTIALS, SUPPORTED_GRANTS};

/// A client's properties, but for its id and secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientProfile {
    pub name: String,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    /// Where `/o/authorize/` may send the user back: exact strings (RFC 9700 §4.1.3).
    pub redirect_uris: Vec<String>,
    /// Where `/o/logout/` may send the user after signing out.
    pub post_logout_redirect_uris: Vec<String>,
    /// Browser origins allowed to call the token, userinfo and discovery endpoints (CORS).
    pub allowed_origins: Vec<String>,
    /// A first-party client: no consent page.
    pub skip_consent: bool,
    /// PKCE is required on the authorization code flow; only a confidential client may turn it off.
    pub require_pkce: bool,
    pub access_token_format: AccessTokenFormat,
    /// The resources (RFC 8707 identifiers) it may ask tokens for; empty: any registered one.
    pub audiences: Vec<String>,
}

/// What a client's access tokens are: random strings the resource server introspects, or RFC 9068 JWTs it
/// can verify itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenFormat {
    #[default]
    Opaque,
    Jwt,
}

impl AccessTokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }

    /// The stored text; anything unknown is opaque (the column's CHECK allows nothing else).
    pub fn parse(stored: &str) -> Self {
        if stored == "jwt" {
            Self::Jwt
        } else {
            Self::Opaque
        }
    }
}

/// Why a client definition is refused, said so that the operator can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid(message.into())
}

/// Checks a client definition; `public` clients have no secret.
pub fn check(profile: &ClientProfile, public: bool, catalogue: &[String]) -> Result<(), Invalid> {
    if profile.grant_types.is_empty() {
        return Err(invalid("a client needs at least one grant type"));
    }
    for grant in &profile.grant_types {
        if !SUPPORTED_GRANTS.contains(&grant.as_str()) {
            return Err(invalid(format!("unknown grant type {grant:?}; supported: {}", SUPPORTED_GRANTS.join(", "))));
        }
    }
    for scope in &profile.scopes {
        if !catalogue.contains(scope) {
            return Err(invalid(format!("unknown scope {scope:?}; available: {}", catalogue.join(", "))));
        }
    }
    if public && profile.grant_types.iter().any(|g| g == CLIENT_CREDENTIALS) {
        return Err(invalid("a public client cannot use client_credentials"));
    }
    let code_flow = profile.grant_types.iter().any(|g| g == AUTHORIZATION_CODE);
    if code_flow && profile.redirect_uris.is_empty() {
        return Err(invalid("the authorization_code grant needs at least one redirect URI"));
    }
    if !code_flow && !profile.redirect_uris.is_empty() {
        return Err(invalid("redirect URIs are used by the authorization_code grant only"));
    }
    if !profile.require_pkce && (public || !code_flow) {
        return Err(invalid("only a confidential client using authorization_code may be allowed to skip PKCE"));
    }
    for uri in profile.redirect_uris.iter().chain(&profile.post_logout_redirect_uris) {
        check_redirect_uri(uri)?;
    }
    for origin in &profile.allowed_origins {
        check_origin(origin)?;
    }
    for audience in &profile.audiences {
        check_resource_identifier(audience)?;
    }
    Ok(())
}

/// RFC 8707 §2: a resource is named by an absolute URI without a fragment.
pub fn check_resource_identifier(identifier: &str) -> Result<(), Invalid> {
    let refused =
        || invalid(format!("{identifier:?} is not a resource identifier: an absolute URI without a fragment"));
    let url = url::Url::parse(identifier).map_err(|_| refused())?;
    if url.fragment().is_some() || identifier.contains(char::is_whitespace) || identifier.contains(',') {
        return Err(refused());
    }
    Ok(())
}

/// Hosts `http` is allowed for: this machine (RFC 8252 §7.3).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A redirect URI is absolute, without a fragment (RFC 6749 §3.1.2) or wildcard, and `https`, `http` on a
/// loopback host, or a private-use scheme with a reverse domain name (RFC 8252 §7.1: `com.example.app:/cb`).
pub fn check_redirect_uri(uri: &str) -> Result<(), Invalid> {
    let refuse = |why: &str| Err(invalid(format!("redirect URI {uri:?}: {why}")));
    if uri.contains('*') {
        return refuse("no wildcards");
    }
    let Ok(url) = url::Url::parse(uri) else { return refuse("not an absolute URI") };
    if url.fragment().is_some() {
        return refuse("no fragment");
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => refuse("http only for a loopback host (localhost, 127.0.0.1, [::1]); use https"),
        scheme if scheme.contains('.') && !matches!(scheme, "javascript" | "data" | "file") => Ok(()),
        _ => refuse("https, http on a loopback host, or a private-use scheme such as com.example.app"),
    }
}

/// An origin is `scheme://host[:port]` exactly (no path, no trailing slash): `https`, or `http` on a
/// loopback host.
pub fn check_origin(origin: &str) -> Result<(), Invalid> {
    let refuse = |why: &str| Err(invalid(format!("origin {origin:?}: {why}")));
    if origin.contains('*') {
        return refuse("no wildcards");
    }
    let Ok(url) = url::Url::parse(origin) else { return refuse("not scheme://host[:port]") };
    if url.origin().ascii_serialization() != origin || url.path() != "/" || url.query().is_some() {
        return refuse("exactly scheme://host[:port], lower-case, without a path or a trailing slash");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        _ => refuse("https, or http on a loopback host"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_loopback_http_or_a_private_scheme() {
        for good in [
            "https://app.example.com/cb",
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb",
            "http://[::1]/cb",
            "com.example.app:/oauth",
        ] {
            assert!(check_redirect_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#x",
            "https://*.example.com/cb",
            "/cb",
            "javascript:alert(1)",
            "myapp:/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_exact() {
        assert!(check_origin("https://spa.example.com").is_ok());
        assert!(check_origin("http://localhost:5173").is_ok());
        for bad in [
            "https://spa.example.com/",
            "https://spa.example.com/app",
            "http://spa.example.com",
            "*",
            "https://SPA.example.com",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_code_flow_needs_redirect_uris_and_only_confidential_clients_may_skip_pkce() {
        let catalogue = ["read".to_owned()];
        let code = |uris: &[&str], pkce: bool| ClientProfile {
            name: "app".into(),
            grant_types: vec!["authorization_code".into()],
            scopes: vec!["read".into()],
            redirect_uris: uris.iter().map(|u| u.to_string()).collect(),
            require_pkce: pkce,
            ..ClientProfile::default()
        };
        assert!(check(&code(&["https://a.example/cb"], true), true, &catalogue).is_ok());
        assert!(check(&code(&[], true), true, &catalogue).is_err());
        assert!(check(&code(&["https://a.example/cb"], false), true, &catalogue).is_err(), "public without PKCE");
        assert!(check(&code(&["https://a.example/cb"], false), false, &catalogue).is_ok(), "confidential may opt out");
    }
}
