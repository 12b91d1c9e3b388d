//! Every path the resource server answers, written once; startup and tests both use [`configure`].
//! The tutorial's clients use trailing slashes; both forms are accepted.

pub(crate) mod accounts;
pub(crate) mod health;
pub(crate) mod items;
pub mod openapi;

use actix_web::{web, HttpResponse};

use crate::error::Error;

/// `"/items/"` and `"/items"`.
fn both(path: &'static str) -> [&'static str; 2] {
    [path, path.strip_suffix('/').unwrap_or(path)]
}

async fn method_not_allowed() -> Result<HttpResponse, Error> {
    Err(Error::MethodNotAllowed)
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let resource = |path: &'static str| web::resource(both(path)).default_service(web::to(method_not_allowed));
    cfg.service(resource("/users/signup/").route(web::post().to(accounts::signup)))
        .service(resource("/users/token/").route(web::post().to(accounts::token)))
        .service(resource("/users/token/refresh/").route(web::post().to(accounts::refresh)))
        .service(resource("/users/password/").route(web::put().to(accounts::change_password)))
        .service(resource("/items/").route(web::get().to(items::list)).route(web::post().to(items::create)))
        .service(
            resource("/items/{id}/")
                .route(web::get().to(items::retrieve))
                .route(web::put().to(items::replace))
                .route(web::patch().to(items::patch))
                .route(web::delete().to(items::destroy)),
        )
        .service(resource("/health/live").route(web::get().to(health::live)))
        .service(resource("/health/ready").route(web::get().to(health::ready)))
        .service(resource("/openapi.json").route(web::get().to(shared_core::api_doc::openapi_json)))
        .default_service(web::to(not_found));
}
