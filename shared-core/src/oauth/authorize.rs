//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1): the query of
//! `GET /o/authorize/`, or the form of `POST /o/authorize/`. Flat like the token request, for the same
//! reasons: every check, and its error, belongs to the service. A repeated parameter is refused (§3.1).

use serde::{Deserialize, Serialize};

use super::requests::empty_as_none;

// The OpenAPI attributes say what the handlers enforce: a form value is a string (never null), holds no
// control character (refused as malformed), and `client_id` is required (RFC 6749 §4.1.1).

#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct AuthorizationRequest {
    /// `code` (the only response type).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = true, min_length = 1, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// One of the client's registered redirect URIs, exactly; may be left out when it has only one.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Space-separated; `openid` makes it an OpenID Connect request.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Returned unchanged with the code or the error (CSRF protection of the client).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Copied into the id_token (OpenID Connect replay protection).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// RFC 7636: `BASE64URL(SHA256(code_verifier))`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// `S256` (`plain` is refused).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
    /// Space-separated: `none`, `login`, `consent`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Seconds: an older sign-in asks for the password again.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    /// Only `query` is supported.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub response_mode: Option<String>,
    /// Request objects are not supported (`request_not_supported`).
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"), param(value_type = String, required = false, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    pub request_uri: Option<String>,
}

impl AuthorizationRequest {
    /// The parameters present, as name and value: what a form must carry on to repeat this request.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let fields = [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("response_mode", &self.response_mode),
            ("request", &self.request),
            ("request_uri", &self.request_uri),
        ];
        fields.into_iter().filter_map(|(name, value)| value.as_deref().map(|v| (name, v))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_parameter_or_a_control_character_is_refused_and_empty_means_absent() {
        assert!(serde_urlencoded::from_str::<AuthorizationRequest>("client_id=a&client_id=b").is_err());
        assert!(serde_urlencoded::from_str::<AuthorizationRequest>("state=a%0Ab").is_err());
        let request: AuthorizationRequest = serde_urlencoded::from_str("client_id=a&state=&other=1&other=2").unwrap();
        assert_eq!((request.client_id.as_deref(), request.state), (Some("a"), None));
    }

    #[test]
    fn pairs_repeat_the_request() {
        let text = "response_type=code&client_id=c&redirect_uri=https%3A%2F%2Fa.test%2Fcb&state=s%20t&max_age=5";
        let request: AuthorizationRequest = serde_urlencoded::from_str(text).unwrap();
        assert_eq!(serde_urlencoded::to_string(request.pairs()).unwrap().replace('+', "%20"), text);
    }
}
