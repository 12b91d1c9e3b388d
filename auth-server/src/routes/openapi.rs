//! The OpenAPI 3 description served at `/openapi.json`, generated from the handlers' annotations and the
//! wire types, so it cannot drift from the code (a test also calls every documented operation).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{browser, meta, oauth, oidc, users};

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
    info(title = "auth-server", description = "OAuth 2.0 authorization server and OpenID Connect provider: RFC 6749 grants (authorization code with RFC 7636 PKCE), RFC 7662 introspection, RFC 7009 revocation, RFC 8414 metadata, OpenID Connect Core (id_token, userinfo), Discovery and RP-Initiated Logout."),
    paths(
        oauth::token, oauth::introspect, oauth::revoke, oauth::revocations, users::signup, users::change_password,
        browser::authorize, browser::authorize_form, browser::logout, browser::logout_form,
        oidc::userinfo, oidc::userinfo_post, oidc::jwks,
        meta::metadata, meta::openid_configuration, meta::live, meta::ready, shared_core::api_doc::openapi_json,
    ),
    components(schemas(
        shared_core::oauth::TokenRequest, shared_core::oauth::TokenParameters,
        shared_core::oauth::TokenResponse, shared_core::oauth::AuthorizationRequest, shared_core::oauth::IntrospectionResponse, shared_core::oauth::ErrorBody,
        shared_core::account::SignupRequest, shared_core::account::SignupResponse,
        shared_core::account::PasswordChangeRequest, shared_core::FieldErrors, shared_core::field_errors::FieldErrorsOrError,
        shared_core::field_errors::Empty, crate::service::oidc::UserInfo, oidc::JwksDoc, oidc::JwkDoc, browser::LogoutForm,
    )),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;
