//! Successful answers: the token response (RFC 6749 §5.1) and the introspection response (RFC 7662 §2.2).

use serde::{Deserialize, Serialize};

/// RFC 6749 §5.1 successful token response.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refresh_token: Option<String>,
    /// OpenID Connect: with the `openid` scope on the authorization code flow.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id_token: Option<String>,
}

/// RFC 7662 §2.2. An inactive token answers `{"active": false}` and nothing else.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    /// The user's email; absent for `client_credentials` tokens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub username: Option<String>,
    /// Stable user id; absent for `client_credentials` tokens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iss: Option<String>,
    /// Whom the token is for (RFC 7662 §2.2, RFC 8707): one identifier or several.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub aud: Option<Audience>,
}

/// An `aud` value: a string, or an array of them (RFC 7519 §4.1.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, identifier: &str) -> bool {
        match self {
            Self::One(one) => one == identifier,
            Self::Many(many) => many.iter().any(|a| a == identifier),
        }
    }
}

impl IntrospectionResponse {
    pub fn inactive() -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = super::requests::redacted;
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("id_token", &redacted(&self.id_token))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audience_is_one_string_or_an_array() {
        let one: IntrospectionResponse = serde_json::from_str(r#"{"active":true,"aud":"https://a"}"#).unwrap();
        let many: IntrospectionResponse =
            serde_json::from_str(r#"{"active":true,"aud":["https://b","https://a"]}"#).unwrap();
        for answer in [one, many] {
            let aud = answer.aud.unwrap();
            assert!(aud.contains("https://a") && !aud.contains("https://c"));
        }
    }

    #[test]
    fn inactive_introspection_is_only_active_false() {
        let json = serde_json::to_string(&IntrospectionResponse::inactive()).unwrap();
        assert_eq!(json, r#"{"active":false}"#);
    }
}
