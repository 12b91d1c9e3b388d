//! What both servers read off an actix request besides its body.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::oauth::Authorization;

/// The request's `Authorization` header, parsed; `None` without one.
pub fn authorization(req: &HttpRequest) -> Option<Authorization<'_>> {
    req.headers().get(header::AUTHORIZATION).map(|value| Authorization::parse(value.as_bytes()))
}
