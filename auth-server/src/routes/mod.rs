//! Every path the auth server answers, written once; startup and tests both use [`configure`].
//! The tutorial's clients use trailing slashes; both forms are accepted.

pub(crate) mod meta;
pub(crate) mod oauth;
pub mod openapi;
pub(crate) mod users;

use actix_web::{web, HttpResponse};

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

async fn method_not_allowed() -> Result<HttpResponse, Error> {
    Err(Error::MethodNotAllowed)
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let resource = |path: &'static str| web::resource(both(path)).default_service(web::to(method_not_allowed));
    cfg.service(resource(TOKEN_PATH).route(web::post().to(oauth::token)))
        .service(resource(INTROSPECT_PATH).route(web::post().to(oauth::introspect)))
        .service(resource(REVOKE_PATH).route(web::post().to(oauth::revoke)))
        .service(resource(SIGNUP_PATH).route(web::post().to(users::signup)))
        .service(resource(PASSWORD_PATH).route(web::put().to(users::change_password)))
        .service(
            web::resource(METADATA_PATH)
                .route(web::get().to(meta::metadata))
                .default_service(web::to(method_not_allowed)),
        )
        .service(resource("/health/live").route(web::get().to(meta::live)))
        .service(resource("/health/ready").route(web::get().to(meta::ready)))
        .service(resource("/openapi.json").route(web::get().to(shared_core::api_doc::openapi_json)))
        .default_service(web::to(not_found));
}
