//! The OpenAPI 3 description served at `/openapi.json`, generated from the handlers' annotations and the
//! wire types, so it cannot drift from the code (a test also calls every documented operation).

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes::{meta, oauth, users};

/// `POST /o/token/` form parameters (RFC 6749 §4.3, §4.4, §6). Which are required depends on `grant_type`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// `password`, `refresh_token` or `client_credentials`.
    grant_type: String,
    /// password grant: the user's email.
    username: Option<String>,
    /// password grant.
    password: Option<String>,
    /// refresh_token grant.
    refresh_token: Option<String>,
    /// Space-separated scopes; default `read write` within what the client may have.
    scope: Option<String>,
    /// Body client authentication (instead of HTTP Basic).
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /o/introspect/` and `POST /o/revoke_token/` form parameters.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenParameterForm {
    token: String,
    /// `access_token` or `refresh_token`.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("client_basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "auth-server", description = "OAuth 2.0 authorization server: RFC 6749 grants, RFC 7662 introspection, RFC 7009 revocation, RFC 8414 metadata."),
    paths(
        oauth::token, oauth::introspect, oauth::revoke, users::signup, users::change_password,
        meta::metadata, meta::live, meta::ready, openapi_json,
    ),
    components(schemas(
        TokenForm, TokenParameterForm,
        shared_core::oauth::TokenResponse, shared_core::oauth::IntrospectionResponse, shared_core::oauth::ErrorBody,
        shared_core::account::SignupRequest, shared_core::account::SignupResponse,
        shared_core::account::PasswordChangeRequest, shared_core::FieldErrors,
    )),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "This document")))]
pub async fn openapi_json() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serialises"));
    HttpResponse::Ok().content_type("application/json").body(body.as_str())
}
