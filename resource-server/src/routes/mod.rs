//! Every path the resource server answers, written once; startup and tests both use [`configure`].
//! The tutorial's clients use trailing slashes; both forms are accepted.

pub(crate) mod accounts;
pub(crate) mod health;
pub(crate) mod items;
pub mod openapi;

use actix_web::{web, HttpResponse, Resource};

use crate::error::Error;

/// `"/items/"` and `"/items"`.
fn both(path: &'static str) -> [&'static str; 2] {
    [path, path.strip_suffix('/').unwrap_or(path)]
}

/// The resource at `path` and `path` without its trailing slash; any method but `allow` gets 405 with
/// `Allow: allow` (RFC 9110 §15.5.6).
fn resource(path: &'static str, allow: &'static str) -> Resource {
    web::resource(both(path))
        .default_service(web::to(move || async move { Err::<HttpResponse, _>(Error::MethodNotAllowed(allow)) }))
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/users/signup/", "POST").route(web::post().to(accounts::signup)))
        .service(resource("/users/token/", "POST").route(web::post().to(accounts::token)))
        .service(resource("/users/token/refresh/", "POST").route(web::post().to(accounts::refresh)))
        .service(resource("/users/password/", "PUT").route(web::put().to(accounts::change_password)))
        .service(
            resource("/items/", "GET, HEAD, POST")
                .route(web::get().to(items::list))
                .route(web::head().to(items::list))
                .route(web::post().to(items::create)),
        )
        .service(
            resource("/items/{id}/", "GET, HEAD, PUT, PATCH, DELETE")
                .route(web::get().to(items::retrieve))
                .route(web::head().to(items::retrieve))
                .route(web::put().to(items::replace))
                .route(web::patch().to(items::patch))
                .route(web::delete().to(items::destroy)),
        )
        .service(
            resource("/health/live", "GET, HEAD")
                .route(web::get().to(health::live))
                .route(web::head().to(health::live)),
        )
        .service(
            resource("/health/ready", "GET, HEAD")
                .route(web::get().to(health::ready))
                .route(web::head().to(health::ready)),
        )
        .service(
            resource("/openapi.json", "GET, HEAD")
                .route(web::get().to(shared_core::api_doc::openapi_json))
                .route(web::head().to(shared_core::api_doc::openapi_json)),
        )
        .default_service(web::to(not_found));
}
