//! Every path the auth server answers, written once; startup and tests both use [`configure`].
//! The tutorial's clients use trailing slashes; both forms are accepted.

pub(crate) mod meta;
pub(crate) mod oauth;
pub mod openapi;
pub(crate) mod users;

use actix_web::{web, HttpResponse, Resource};

use crate::error::Error;

pub const TOKEN_PATH: &str = "/o/token/";
pub const INTROSPECT_PATH: &str = "/o/introspect/";
pub const REVOKE_PATH: &str = "/o/revoke_token/";
pub const SIGNUP_PATH: &str = "/users/signup/";
pub const PASSWORD_PATH: &str = "/users/password/";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// `"/o/token/"` and `"/o/token"`.
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
    cfg.service(resource(TOKEN_PATH, "POST").route(web::post().to(oauth::token)))
        .service(resource(INTROSPECT_PATH, "POST").route(web::post().to(oauth::introspect)))
        .service(resource(REVOKE_PATH, "POST").route(web::post().to(oauth::revoke)))
        .service(resource(SIGNUP_PATH, "POST").route(web::post().to(users::signup)))
        .service(resource(PASSWORD_PATH, "PUT").route(web::put().to(users::change_password)))
        .service(
            resource(METADATA_PATH, "GET, HEAD")
                .route(web::get().to(meta::metadata))
                .route(web::head().to(meta::metadata)),
        )
        .service(
            resource("/health/live", "GET, HEAD").route(web::get().to(meta::live)).route(web::head().to(meta::live)),
        )
        .service(
            resource("/health/ready", "GET, HEAD").route(web::get().to(meta::ready)).route(web::head().to(meta::ready)),
        )
        .service(
            resource("/openapi.json", "GET, HEAD")
                .route(web::get().to(shared_core::api_doc::openapi_json))
                .route(web::head().to(shared_core::api_doc::openapi_json)),
        )
        .default_service(web::to(not_found));
}
