//! The form bodies of the OAuth endpoints, written once: the auth server reads them, the resource server
//! sends them, and both OpenAPI documents describe them from here.
//!
//! They stay flat (`grant_type` is a string, every other parameter optional) so that an unknown grant type
//! can be answered `unsupported_grant_type` and a missing parameter `invalid_request` by the service, which
//! turns them into typed values. Deserialising follows RFC 6749 §3.1 and §3.2: a parameter sent without a
//! value counts as absent, unknown parameters are ignored (repeated or not), and a repeated known parameter
//! is refused. A value with a control character (NUL included, which PostgreSQL cannot store) is refused:
//! no OAuth parameter, password or secret has one.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// `POST /o/token/` (RFC 6749 §4.3 password, §4.4 client_credentials, §6 refresh_token). Which parameters are
/// required depends on `grant_type`. Not `Debug` in clear: it may carry a password, a refresh token or a
/// client secret. Its OpenAPI schema is written by hand ([`token_request_schema`]): one shape per grant.
#[derive(Default, Clone, Deserialize, Serialize)]
pub struct TokenRequest {
    /// `password`, `refresh_token` or `client_credentials`.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    /// password grant: the user's email.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// password grant.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// refresh_token grant.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Space-separated scopes; without it, the configured defaults within what the client may have.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Client authentication in the body (RFC 6749 §2.3.1), instead of HTTP Basic.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// authorization_code grant: the code, the redirect URI it was sent to, the PKCE verifier (RFC 7636).
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
    /// RFC 8707: the resource (API) the access token is for; one per request.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("code", &redacted(&self.code))
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &redacted(&self.code_verifier))
            .field("resource", &self.resource)
            .finish()
    }
}

/// `POST /o/introspect/` (RFC 7662 §2.1) and `POST /o/revoke_token/` (RFC 7009 §2.1).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Default, Clone, Deserialize, Serialize)]
pub struct TokenParameters {
    /// The token asked about, or to revoke.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    pub token: Option<String>,
    /// `access_token` or `refresh_token`; a hint only.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    pub token_type_hint: Option<String>,
    /// Client authentication in the body, instead of HTTP Basic.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, format = Password, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    pub client_secret: Option<String>,
}

impl fmt::Debug for TokenParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenParameters")
            .field("token", &redacted(&self.token))
            .field("token_type_hint", &self.token_type_hint)
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .finish()
    }
}

/// What every parameter may hold: no control character (and, where required, at least one character).
#[cfg(feature = "openapi")]
const NO_CONTROLS: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";

/// `POST /o/token/`'s body, one shape per grant type: `oneOf` keyed by `grant_type`. Every shape may carry
/// `scope`, and `client_id` / `client_secret` for client authentication in the body.
#[cfg(feature = "openapi")]
fn token_request_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    let text = |description: &str| {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(NO_CONTROLS)).description(Some(description))
    };
    let grant = |grant_type: &str, required: &[(&str, &str)]| {
        let mut object = ObjectBuilder::new()
            .property("grant_type", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([grant_type])))
            .required("grant_type");
        for (name, description) in required {
            let field = text(description).min_length(Some(1));
            let field = if *name == "password" {
                field.format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
            } else {
                field
            };
            object = object.property(*name, field).required(*name);
        }
        object
            .property(
                "scope",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    // RFC 6749 §3.3: scope-tokens of %x21 / %x23-5B / %x5D-7E, separated by spaces.
                    .pattern(Some(r"^[ \x21\x23-\x5b\x5d-\x7e]*$"))
                    .description(Some(
                        "Space-separated scopes the client is registered for; without it, the configured defaults \
                         within those (user tokens never get introspection)",
                    )),
            )
            .property(
                "resource",
                text(
                    "RFC 8707: a registered resource (API, an absolute URI) the access token is for, its aud; one \
                      per request",
                ),
            )
            .property("client_id", text("Client authentication in the body (RFC 6749 §2.3.1), instead of HTTP Basic"))
            .property(
                "client_secret",
                text("With client_id").format(Some(SchemaFormat::KnownFormat(KnownFormat::Password))),
            )
            .title(Some(grant_type))
    };
    OneOfBuilder::new()
        .item(
            grant(
                "authorization_code",
                &[("code", "The code /o/authorize/ sent"), ("redirect_uri", "The redirect URI it was sent to")],
            )
            .property(
                "code_verifier",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^[A-Za-z0-9._~-]{43,128}$"))
                    .description(Some("PKCE (RFC 7636): required when the authorization request had a code_challenge")),
            ),
        )
        .item(grant("password", &[("username", "The user's email"), ("password", "The user's password")]))
        .item(grant("refresh_token", &[("refresh_token", "A live refresh token of this client")]))
        .item(grant("client_credentials", &[]))
        .description(Some(
            "RFC 6749 §4.1.3 (authorization_code, with RFC 7636 PKCE), §4.3 (password), §6 (refresh_token), §4.4 \
             (client_credentials); unknown parameters are ignored",
        ))
        .into()
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for TokenRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        token_request_schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for TokenRequest {}

/// What `Debug` shows of a secret field: whether it was sent, never what.
pub fn redacted(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| "<redacted>")
}

/// RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted."
pub(super) fn empty_as_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?.filter(|value| !value.is_empty());
    if value.as_deref().is_some_and(|v| v.chars().any(char::is_control)) {
        return Err(serde::de::Error::custom("a parameter holds a control character"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<TokenRequest, serde_urlencoded::de::Error> {
        serde_urlencoded::from_str(body)
    }

    #[test]
    fn empty_parameters_count_as_absent() {
        let request = parse("grant_type=password&scope=&username=a%40b.co").unwrap();
        assert_eq!(request.grant_type.as_deref(), Some("password"));
        assert_eq!(request.username.as_deref(), Some("a@b.co"));
        assert_eq!(request.scope, None);
    }

    #[test]
    fn unknown_parameters_are_ignored_even_repeated() {
        let request = parse("grant_type=client_credentials&foo=1&foo=2&audience=x").unwrap();
        assert_eq!(request.grant_type.as_deref(), Some("client_credentials"));
    }

    #[test]
    fn a_repeated_known_parameter_is_refused() {
        let error = parse("grant_type=password&grant_type=password").err().unwrap();
        assert!(error.to_string().contains("duplicate field `grant_type`"), "{error}");
        assert!(serde_urlencoded::from_str::<TokenParameters>("token=a&token=b").is_err());
    }

    #[test]
    fn control_characters_are_refused_in_every_parameter() {
        assert!(parse("grant_type=password&username=a%00b").is_err());
        assert!(parse("grant_type=client_credentials&client_id=rs%00id").is_err());
        assert!(parse("grant_type=password&password=a%0Ab").is_err());
        assert!(serde_urlencoded::from_str::<TokenParameters>("token=x%7F").is_err());
        assert!(parse("grant_type=password&password=s%C3%A9cret%20x").is_ok(), "spaces and letters are fine");
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let request = parse("grant_type=password&password=hunter2&refresh_token=rt-1&client_secret=cs-1").unwrap();
        let printed = format!("{request:?}");
        for secret in ["hunter2", "rt-1", "cs-1"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        let parameters: TokenParameters = serde_urlencoded::from_str("token=tok-1&client_secret=cs-2").unwrap();
        let printed = format!("{parameters:?}");
        assert!(!printed.contains("tok-1") && !printed.contains("cs-2"), "{printed}");
    }

    #[test]
    fn the_resource_server_sends_only_what_it_set() {
        let request = TokenRequest {
            grant_type: Some("refresh_token".into()),
            refresh_token: Some("r t".into()),
            ..TokenRequest::default()
        };
        assert_eq!(serde_urlencoded::to_string(&request).unwrap(), "grant_type=refresh_token&refresh_token=r+t");
    }
}
