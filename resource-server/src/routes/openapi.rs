//! The OpenAPI 3 description served at `/openapi.json`, generated from the handlers' annotations and the
//! wire types, so it cannot drift from the code (a test also calls every documented operation).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{accounts, health, items};

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "resource-server", description = "Items API protected by RFC 7662 introspection, and the account proxies of the tutorial."),
    paths(
        accounts::signup, accounts::token, accounts::refresh, accounts::change_password,
        items::list, items::create, items::retrieve, items::replace, items::patch, items::destroy,
        health::live, health::ready, shared_core::api_doc::openapi_json,
    ),
    components(schemas(
        shared_core::items::Item, shared_core::items::ItemOwner, shared_core::items::ItemInput, shared_core::items::ItemPatch,
        shared_core::account::SignupRequest, shared_core::account::SignupResponse, shared_core::account::LoginRequest,
        shared_core::account::RefreshRequest, shared_core::account::PasswordChangeRequest,
        shared_core::oauth::TokenResponse, shared_core::oauth::ErrorBody, shared_core::FieldErrors, shared_core::field_errors::FieldErrorsOrError,
        shared_core::field_errors::Empty,
    )),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;
