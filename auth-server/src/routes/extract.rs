//! OAuth request parsing: strict form decoding (RFC 6749 §3.2: no repeated
//! parameters), client credentials (RFC 6749 §2.3.1) and bearer tokens (RFC 6750 §2.1).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use shared_core::body;

use crate::error::Error;
use crate::service::client_auth::{ClientCredentials, Secret};

/// Form parameters of an OAuth request. Empty values count as absent (RFC 6749 §3.1).
pub struct Form(HashMap<String, String>);

impl Form {
    /// Reads an `application/x-www-form-urlencoded` body.
    pub async fn read(req: &HttpRequest, payload: web::Payload) -> Result<Self, Error> {
        if !body::is_form(req) {
            return Err(Error::UnsupportedMediaType(body::FORM));
        }
        let body = body::read(req, payload).await?;
        Self::parse(&body)
    }

    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| Error::invalid_request("the body is not valid application/x-www-form-urlencoded"))?;
        let mut map = HashMap::with_capacity(pairs.len());
        for (key, value) in pairs {
            if map.insert(key.clone(), value).is_some() {
                return Err(Error::invalid_request(format!("the \"{key}\" parameter is repeated")));
            }
        }
        Ok(Self(map))
    }

    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name).filter(|v| !v.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|v| !v.is_empty())
    }
}

fn authorization(req: &HttpRequest) -> Option<(&str, &str)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    Some((scheme, rest.trim()))
}

/// Client credentials from HTTP Basic (id and secret form-urlencoded, RFC 6749 §2.3.1) or from the body's
/// `client_id` / `client_secret`. Using both at once is `invalid_request`; none at all is `invalid_client`.
pub fn client_credentials(req: &HttpRequest, form: &mut Form) -> Result<ClientCredentials, Error> {
    let body_id = form.take("client_id");
    let body_secret = form.take("client_secret");
    match authorization(req) {
        Some((scheme, encoded)) if scheme.eq_ignore_ascii_case("basic") => {
            let (client_id, secret) = decode_basic(encoded).ok_or(Error::InvalidClient)?;
            if body_secret.is_some() || body_id.as_deref().is_some_and(|id| id != client_id) {
                return Err(Error::invalid_request("use one client authentication method, not several"));
            }
            Ok(ClientCredentials { client_id, secret: Some(Secret::new(secret)) })
        }
        _ => match body_id {
            Some(client_id) => Ok(ClientCredentials { client_id, secret: body_secret.map(Secret::new) }),
            None => Err(Error::InvalidClient),
        },
    }
}

fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8().ok().map(|c| c.into_owned())
    };
    let id = unescape(id)?;
    (!id.is_empty()).then_some(())?;
    Some((id, unescape(secret)?))
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    match authorization(req) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => Some(token.to_owned()),
        _ => None,
    }
}

/// Does the request carry any `Authorization: Bearer ...`, well-formed or not?
pub fn has_bearer_scheme(req: &HttpRequest) -> bool {
    matches!(authorization(req), Some((scheme, _)) if scheme.eq_ignore_ascii_case("bearer"))
}

pub fn has_basic_scheme(req: &HttpRequest) -> bool {
    matches!(authorization(req), Some((scheme, _)) if scheme.eq_ignore_ascii_case("basic"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_url_decoded() {
        let encoded = STANDARD.encode("my%3Aclient:s%C3%A9cret+x");
        assert_eq!(decode_basic(&encoded).unwrap(), ("my:client".to_owned(), "sécret x".to_owned()));
        assert!(decode_basic("not base64!").is_none());
        assert!(decode_basic(&STANDARD.encode("no-colon")).is_none());
        assert!(decode_basic(&STANDARD.encode(":secret")).is_none());
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Form::parse(b"grant_type=password&grant_type=password").is_err());
        let mut form = Form::parse(b"grant_type=password&scope=").unwrap();
        assert_eq!(form.take("grant_type").as_deref(), Some("password"));
        assert_eq!(form.take("scope"), None);
    }
}
