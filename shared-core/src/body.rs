//! Request bodies for both servers: capped in size and in time, JSON or form, with failures as a
//! [`BodyError`] that each server maps to its own error type (and so to a JSON answer, never actix's
//! plain-text defaults).

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

/// Every request body is capped: larger ones get 413 before they are read to the end.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long reading a whole request body may take (`http.body_timeout_ms`), registered with `App::app_data`.
/// A sender slower than that gets 408 and its connection is closed, so that slow bodies cannot hold
/// connections open.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// Used when no [`BodyTimeout`] is registered.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body is too large")]
    TooLarge,
    #[error("the request body could not be read")]
    Unreadable,
    #[error("the request body was not received in time")]
    Timeout,
    #[error("the body must be {0}")]
    UnsupportedMediaType(&'static str),
    #[error("{0}")]
    Malformed(String),
}

pub const JSON_OR_FORM: &str = "application/json or application/x-www-form-urlencoded";
pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON: &str = "application/json";

/// Reads the body, refusing more than [`MAX_BODY_BYTES`] (by `Content-Length` up front, or while reading) and
/// a body that takes longer than the [`BodyTimeout`] to arrive.
pub async fn read(req: &HttpRequest, payload: web::Payload) -> Result<web::Bytes, BodyError> {
    let timeout = req.app_data::<BodyTimeout>().map_or(DEFAULT_BODY_TIMEOUT, |t| t.0);
    tokio::time::timeout(timeout, read_all(req, payload)).await.map_err(|_| BodyError::Timeout)?
}

async fn read_all(req: &HttpRequest, mut payload: web::Payload) -> Result<web::Bytes, BodyError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(BodyError::TooLarge);
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The media type of the request, lower-cased, without parameters.
pub fn mime(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub fn is_form(req: &HttpRequest) -> bool {
    mime(req) == FORM
}

pub fn is_json(req: &HttpRequest) -> bool {
    let mime = mime(req);
    mime == JSON || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A JSON body.
pub async fn json<T: DeserializeOwned>(req: &HttpRequest, payload: web::Payload) -> Result<T, BodyError> {
    if !is_json(req) {
        return Err(BodyError::UnsupportedMediaType(JSON));
    }
    let body = read(req, payload).await?;
    // Every body is a JSON object: serde would also fill a struct from an array, by position.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(BodyError::Malformed("the JSON body must be an object".into()));
    }
    serde_json::from_slice(&body).map_err(|e| BodyError::Malformed(format!("invalid JSON body: {e}")))
}

/// An `application/x-www-form-urlencoded` body (the OAuth endpoints, RFC 6749 §3.2).
pub async fn form<T: DeserializeOwned>(req: &HttpRequest, payload: web::Payload) -> Result<T, BodyError> {
    if !is_form(req) {
        return Err(BodyError::UnsupportedMediaType(FORM));
    }
    let body = read(req, payload).await?;
    serde_urlencoded::from_bytes(&body).map_err(|e| BodyError::Malformed(format!("invalid form body: {e}")))
}

/// A JSON or form body, as the tutorial's DRF views accept both.
pub async fn json_or_form<T: DeserializeOwned>(req: &HttpRequest, payload: web::Payload) -> Result<T, BodyError> {
    if is_json(req) {
        return json(req, payload).await;
    }
    if !is_form(req) {
        return Err(BodyError::UnsupportedMediaType(JSON_OR_FORM));
    }
    let body = read(req, payload).await?;
    serde_urlencoded::from_bytes(&body).map_err(|e| BodyError::Malformed(format!("invalid form body: {e}")))
}
