//! Every path the auth server answers, written once; startup and tests both use [`configure`].
//! The tutorial's clients use trailing slashes; both forms are accepted.

pub(crate) mod browser;
pub(crate) mod cors;
pub(crate) mod meta;
pub(crate) mod oauth;
pub(crate) mod oidc;
pub mod openapi;
pub mod pages;
pub(crate) mod users;

use std::sync::Arc;

use actix_web::{web, HttpResponse, Resource};

use crate::error::{Error, PageError};
use crate::service::origins::AllowedOrigins;

pub const TOKEN_PATH: &str = "/o/token/";
pub const INTROSPECT_PATH: &str = "/o/introspect/";
pub const REVOKE_PATH: &str = "/o/revoke_token/";
pub const REVOCATIONS_PATH: &str = "/o/revocations/";
pub const SIGNUP_PATH: &str = "/users/signup/";
pub const PASSWORD_PATH: &str = "/users/password/";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
pub const AUTHORIZE_PATH: &str = "/o/authorize/";
pub const LOGOUT_PATH: &str = "/o/logout/";
pub const USERINFO_PATH: &str = "/o/userinfo/";
pub const JWKS_PATH: &str = "/o/jwks/";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
const STYLE_PATH: &str = "/o/static/style.css";

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

/// [`resource`] for a browser page: a wrong method gets an HTML page.
fn page(path: &'static str, allow: &'static str) -> Resource {
    web::resource(both(path)).default_service(web::to(move || async move {
        Err::<HttpResponse, _>(PageError(Error::MethodNotAllowed(allow)))
    }))
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound)
}

/// `origins`: the browser origins the CORS endpoints answer (see [`cors`]).
pub fn configure(cfg: &mut web::ServiceConfig, origins: &Arc<AllowedOrigins>) {
    // Browser apps call these themselves: CORS, with refused preflights answered in the JSON error shape.
    macro_rules! with_cors {
        ($resource:expr) => {
            $resource.wrap(cors::cors(origins)).wrap(cors::json_errors())
        };
    }
    cfg.service(with_cors!(resource(TOKEN_PATH, "POST").route(web::post().to(oauth::token))))
        .service(with_cors!(resource(INTROSPECT_PATH, "POST").route(web::post().to(oauth::introspect))))
        .service(with_cors!(resource(REVOKE_PATH, "POST").route(web::post().to(oauth::revoke))))
        .service(resource(REVOCATIONS_PATH, "GET").route(web::get().to(oauth::revocations)))
        .service(resource(SIGNUP_PATH, "POST").route(web::post().to(users::signup)))
        .service(resource(PASSWORD_PATH, "PUT").route(web::put().to(users::change_password)))
        .service(
            page(AUTHORIZE_PATH, "GET, POST")
                .route(web::get().to(browser::authorize))
                .route(web::post().to(browser::authorize_form)),
        )
        .service(
            page(LOGOUT_PATH, "GET, POST")
                .route(web::get().to(browser::logout))
                .route(web::post().to(browser::logout_form)),
        )
        .service(with_cors!(resource(USERINFO_PATH, "GET, POST")
            .route(web::get().to(oidc::userinfo))
            .route(web::post().to(oidc::userinfo_post))))
        .service(with_cors!(resource(JWKS_PATH, "GET, HEAD")
            .route(web::get().to(oidc::jwks))
            .route(web::head().to(oidc::jwks))))
        .service(web::resource(STYLE_PATH).route(web::get().to(pages::style_sheet)))
        .service(with_cors!(resource(METADATA_PATH, "GET, HEAD")
            .route(web::get().to(meta::metadata))
            .route(web::head().to(meta::metadata))))
        .service(with_cors!(resource(DISCOVERY_PATH, "GET, HEAD")
            .route(web::get().to(meta::openid_configuration))
            .route(web::head().to(meta::openid_configuration))))
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
