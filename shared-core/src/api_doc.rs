//! Serving a server's OpenAPI document at `/openapi.json`: rendered once at start-up, then handed out as
//! shared bytes.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

/// The document as served.
pub struct OpenApiDocument(web::Bytes);

impl OpenApiDocument {
    pub fn render<Doc: OpenApi>() -> serde_json::Result<Self> {
        Doc::openapi().to_pretty_json().map(|json| Self(json.into()))
    }
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "This document")))]
pub async fn openapi_json(document: web::Data<OpenApiDocument>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document.0.clone())
}
