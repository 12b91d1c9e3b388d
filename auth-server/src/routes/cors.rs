//! CORS (actix-cors) for the endpoints a browser app calls itself: token, userinfo, JWKS, discovery,
//! introspection and revocation. Only origins some client registered are answered, and never with
//! credentials (`Access-Control-Allow-Credentials` is not sent: these endpoints take no cookies), so no
//! wildcard can meet credentials.

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::HttpResponse;
use shared_core::oauth::{ErrorBody, ErrorCode};
use shared_core::request_context::REQUEST_ID_HEADER;

use crate::service::origins::AllowedOrigins;

const REQUEST_ID: header::HeaderName = header::HeaderName::from_static(REQUEST_ID_HEADER);

/// The CORS middleware over `origins`.
pub fn cors(origins: &Arc<AllowedOrigins>) -> Cors {
    let origins = origins.clone();
    Cors::default()
        .allowed_origin_fn(move |origin, _| origin.to_str().is_ok_and(|origin| origins.allows(origin)))
        .allowed_methods(["GET", "HEAD", "POST"])
        // A browser app may send its own request id and read ours, to quote it in a support request.
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID])
        .max_age(3600)
}

/// actix-cors refuses a bad preflight with a plain-text 400; it becomes the RFC 6749 §5.2 body every other
/// error has. Errors from the endpoints themselves are JSON already and pass untouched.
pub fn json_errors<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(StatusCode::BAD_REQUEST, |response: ServiceResponse<B>| {
        let plain = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|value| value.as_bytes().starts_with(b"text/plain"));
        if !plain {
            return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
        }
        let (request, _) = response.into_parts();
        let body = ErrorBody::new(
            ErrorCode::InvalidRequest,
            "CORS request refused: this origin, method or header is not allowed",
        );
        let answer: HttpResponse<BoxBody> = HttpResponse::BadRequest().json(body);
        Ok(ErrorHandlerResponse::Response(ServiceResponse::new(request, answer).map_into_right_body()))
    })
}
