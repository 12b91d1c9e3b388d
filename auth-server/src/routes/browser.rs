//! The browser endpoints: `/o/authorize/` (with its login and consent forms) and `/o/logout/`. They answer
//! with pages and redirects, never JSON; errors are pages ([`PageError`]).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use shared_core::body;
use shared_core::clock;
use shared_core::oauth::AuthorizationRequest;

use super::pages::{self, ConsentPage, LoginPage, LogoutPage};
use crate::db::{self, clients};
use crate::error::{Error, PageError};
use crate::service::authorize::{self, Outcome, Refusal};
use crate::service::sign_in;
use crate::state::AppState;

const MALFORMED: &str = "The request is malformed: a parameter is repeated or holds a control character.";

/// The fields the login, consent and logout forms add to the request they carry.
#[derive(Default, Deserialize)]
struct FormFields {
    #[serde(default)]
    action: Option<String>,
    #[serde(default, rename = "csrfmiddlewaretoken")]
    csrf_token: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    confirm: Option<String>,
}

/// A form body, parsed twice: as the request it carries and as the form's own fields.
async fn read_form<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(T, FormFields), Error> {
    if !body::is_form(req) {
        return Err(Error::BadPageRequest("The form must be sent as application/x-www-form-urlencoded."));
    }
    let bytes = body::read(req, payload).await?;
    let request = serde_urlencoded::from_bytes(&bytes).map_err(|_| Error::BadPageRequest(MALFORMED))?;
    let fields = serde_urlencoded::from_bytes(&bytes).map_err(|_| Error::BadPageRequest(MALFORMED))?;
    Ok((request, fields))
}

/// `GET /o/authorize/`: RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1.
#[utoipa::path(get, path = "/o/authorize/", tag = "browser",
    params(shared_core::oauth::AuthorizationRequest),
    responses(
        (status = 200, description = "The login or the consent page (HTML)", content_type = "text/html"),
        (status = 302, description = "Back to the redirect URI with code, state and iss; or with error, error_description, state and iss"),
        (status = 400, description = "Unknown client, unregistered redirect URI or malformed query: an HTML page, never a redirect", content_type = "text/html"),
        (status = 503, description = "The database is busy (HTML, Retry-After)", content_type = "text/html"),
    ))]
pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let request: AuthorizationRequest =
        serde_urlencoded::from_str(req.query_string()).map_err(|_| Error::BadPageRequest(MALFORMED))?;
    let cookie = pages::session_cookie(&req, &state);
    let outcome = authorize::authorize(&state, request, cookie.as_deref(), clock::now()).await?;
    Ok(respond(&req, &state, outcome, None, "")?)
}

/// `POST /o/authorize/`: the login form (`action=login`), the consent form (`action=allow` or `deny`), both
/// with a CSRF token; without `action`, an authorization request sent as a form (OpenID Connect Core
/// §3.1.2.1).
#[utoipa::path(post, path = "/o/authorize/", tag = "browser",
    request_body(content = shared_core::oauth::AuthorizationRequest, content_type = "application/x-www-form-urlencoded",
        description = "The authorization request's parameters, plus action (login, allow, deny), csrfmiddlewaretoken, email and password"),
    responses(
        (status = 200, description = "The login page again (wrong password) or the consent page (HTML)", content_type = "text/html"),
        (status = 302, description = "Back to the redirect URI with a code or an error"),
        (status = 400, description = "Unknown client, unregistered redirect URI, malformed form (HTML)", content_type = "text/html"),
        (status = 403, description = "CSRF token missing or incorrect (HTML)", content_type = "text/html"),
        (status = 429, description = "Too many password checks from this address (HTML, Retry-After)", content_type = "text/html"),
        (status = 503, description = "The password hasher or the database is busy (HTML, Retry-After)", content_type = "text/html"),
    ))]
pub async fn authorize_form(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (request, fields): (AuthorizationRequest, FormFields) = read_form(&req, payload).await?;
    let cookie = pages::session_cookie(&req, &state);
    let now = clock::now();
    let Some(action) = fields.action.as_deref() else {
        let outcome = authorize::authorize(&state, request, cookie.as_deref(), now).await?;
        return Ok(respond(&req, &state, outcome, None, "")?);
    };
    pages::check_csrf(&req, &state, fields.csrf_token.as_deref())?;
    let response = match action {
        "login" => {
            let email = fields.email.unwrap_or_default();
            let password = fields.password.unwrap_or_default();
            let (outcome, session) =
                authorize::sign_in(&state, request, &email, password, cookie.as_deref(), now).await?;
            respond(&req, &state, outcome, session, &email)?
        }
        "allow" | "deny" => {
            let outcome = authorize::answer_consent(&state, request, action == "allow", cookie.as_deref(), now).await?;
            respond(&req, &state, outcome, None, "")?
        }
        _ => return Err(Error::BadPageRequest("The form's action is unknown.").into()),
    };
    Ok(response)
}

/// Turns what the service decided into a page or a redirect; `session` is a new session's cookie value.
fn respond(
    req: &HttpRequest,
    state: &AppState,
    outcome: Outcome,
    session: Option<String>,
    email: &str,
) -> Result<HttpResponse, Error> {
    let mut response = match outcome {
        Outcome::Refused(Refusal::Page(message)) => return Err(Error::BadPageRequest(message)),
        Outcome::Refused(Refusal::Redirect(location)) | Outcome::Redirect(location) => {
            HttpResponse::Found().insert_header((header::LOCATION, location)).finish()
        }
        Outcome::Login { request, failed } => {
            let (csrf_token, set_csrf) = pages::csrf_token(req, state)?;
            let page = LoginPage {
                client_name: &request.client.name,
                failed,
                email,
                hidden: request.request.pairs(),
                csrf_token: &csrf_token,
            };
            let mut response = pages::html(StatusCode::OK, &page)?;
            pages::set_cookie(&mut response, set_csrf);
            response
        }
        Outcome::Consent { request, user } => {
            let (csrf_token, set_csrf) = pages::csrf_token(req, state)?;
            let descriptions = &state.browser.scope_descriptions;
            let scopes = request
                .scope
                .iter()
                .map(|scope| (scope, descriptions.get(scope).map_or(scope, String::as_str)))
                .collect();
            let page = ConsentPage {
                client_name: &request.client.name,
                email: &user.email,
                scopes,
                hidden: request.request.pairs(),
                csrf_token: &csrf_token,
            };
            let mut response = pages::html(StatusCode::OK, &page)?;
            pages::set_cookie(&mut response, set_csrf);
            response
        }
    };
    pages::set_cookie(&mut response, session.map(|value| pages::new_session_cookie(state, value)));
    Ok(response)
}

/// OpenID Connect RP-Initiated Logout 1.0 §2: where to go after signing out.
#[derive(Default, Deserialize)]
struct LogoutRequest {
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    state: Option<String>,
    /// An id_token this server issued: names the client when `client_id` is left out.
    #[serde(default)]
    id_token_hint: Option<String>,
}

impl LogoutRequest {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("client_id", &self.client_id),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
            ("id_token_hint", &self.id_token_hint),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().filter(|v| !v.is_empty()).map(|v| (name, v)))
        .collect()
    }
}

/// The logout form: `confirm=yes` with the CSRF token signs out. Any value is taken as it is: an
/// unregistered post_logout_redirect_uri is a 400 page, another `confirm` shows the confirmation page.
// Only for the OpenAPI document: the handler reads the form as `LogoutRequest` and `FormFields`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LogoutForm {
    /// The client that registered `post_logout_redirect_uri`.
    #[schema(value_type = String, required = false)]
    client_id: Option<String>,
    #[schema(value_type = String, required = false)]
    post_logout_redirect_uri: Option<String>,
    #[schema(value_type = String, required = false)]
    state: Option<String>,
    /// An id_token this server issued; names the client instead of `client_id`.
    #[schema(value_type = String, required = false)]
    id_token_hint: Option<String>,
    /// `yes` signs out; anything else shows the confirmation page.
    #[schema(value_type = String, required = false)]
    confirm: Option<String>,
    /// Must equal the `csrftoken` cookie when signing out.
    #[schema(value_type = String, required = false)]
    csrfmiddlewaretoken: Option<String>,
}

/// Where to send the browser after signing out: `post_logout_redirect_uri` if the client named by
/// `client_id`, or by the `aud` of `id_token_hint` (RP-Initiated Logout §2), registered it.
async fn logout_destination(state: &AppState, request: &LogoutRequest) -> Result<Option<String>, Error> {
    let present = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    let Some(uri) = present(&request.post_logout_redirect_uri) else { return Ok(None) };
    let client_id = match (present(&request.client_id), present(&request.id_token_hint)) {
        (client_id, Some(hint)) => {
            let audience = state
                .keys
                .id_token_audience(&hint, &state.issuer)
                .ok_or(Error::BadPageRequest("The id_token_hint was not issued by this server."))?;
            if client_id.is_some_and(|id| id != audience) {
                return Err(Error::BadPageRequest("The id_token_hint was issued to another client."));
            }
            audience
        }
        (Some(client_id), None) => client_id,
        (None, None) => {
            return Err(Error::BadPageRequest("post_logout_redirect_uri needs the client_id that registered it."))
        }
    };
    let row = db::read(&state.pool, move |c| Ok(clients::find_by_client_id(c, &client_id)?)).await?;
    let registered =
        row.is_some_and(|row| shared_core::config_loader::split_list(&row.post_logout_redirect_uris).contains(&uri));
    if !registered {
        return Err(Error::BadPageRequest("This post_logout_redirect_uri is not registered for the client."));
    }
    let mut url =
        url::Url::parse(&uri).map_err(|_| Error::BadPageRequest("The post_logout_redirect_uri is malformed."))?;
    if let Some(value) = request.state.as_deref().filter(|s| !s.is_empty()) {
        url.query_pairs_mut().append_pair("state", value);
    }
    Ok(Some(url.into()))
}

/// `GET /o/logout/`: asks the user to confirm (a link alone must not sign anyone out).
#[utoipa::path(get, path = "/o/logout/", tag = "browser",
    params(
        ("client_id" = Option<String>, Query, description = "The client whose post_logout_redirect_uri is given"),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "Registered for client_id; where to go afterwards"),
        ("state" = Option<String>, Query, description = "Added to the post_logout_redirect_uri"),
        ("id_token_hint" = Option<String>, Query, description = "An id_token this server issued; names the client instead of client_id"),
    ),
    responses(
        (status = 200, description = "The confirmation page (HTML)", content_type = "text/html"),
        (status = 400, description = "An unregistered post_logout_redirect_uri (HTML)", content_type = "text/html"),
    ))]
pub async fn logout(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let request: LogoutRequest =
        serde_urlencoded::from_str(req.query_string()).map_err(|_| Error::BadPageRequest(MALFORMED))?;
    logout_destination(&state, &request).await?;
    Ok(confirm_logout(&req, &state, &request)?)
}

fn confirm_logout(req: &HttpRequest, state: &AppState, request: &LogoutRequest) -> Result<HttpResponse, Error> {
    let (csrf_token, set_csrf) = pages::csrf_token(req, state)?;
    let page =
        LogoutPage { issuer: &state.issuer, signed_out: false, hidden: request.pairs(), csrf_token: &csrf_token };
    let mut response = pages::html(StatusCode::OK, &page)?;
    pages::set_cookie(&mut response, set_csrf);
    Ok(response)
}

/// `POST /o/logout/`: with `confirm=yes` and the CSRF token, ends the session and goes to the
/// post_logout_redirect_uri (or says so on a page); otherwise asks for confirmation.
#[utoipa::path(post, path = "/o/logout/", tag = "browser",
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded",
        description = "client_id, post_logout_redirect_uri, state; confirm=yes and csrfmiddlewaretoken to sign out"),
    responses(
        (status = 200, description = "Signed out, or the confirmation page (HTML)", content_type = "text/html"),
        (status = 302, description = "Signed out; to the post_logout_redirect_uri"),
        (status = 400, description = "An unregistered post_logout_redirect_uri (HTML)", content_type = "text/html"),
        (status = 403, description = "CSRF token missing or incorrect (HTML)", content_type = "text/html"),
    ))]
pub async fn logout_form(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (request, fields): (LogoutRequest, FormFields) = read_form(&req, payload).await?;
    let destination = logout_destination(&state, &request).await?;
    if fields.confirm.as_deref() != Some("yes") {
        return Ok(confirm_logout(&req, &state, &request)?);
    }
    pages::check_csrf(&req, &state, fields.csrf_token.as_deref())?;
    sign_in::end_session(&state, pages::session_cookie(&req, &state).as_deref()).await?;
    log::info!("user signed out");
    let mut response = match destination {
        Some(location) => HttpResponse::Found().insert_header((header::LOCATION, location)).finish(),
        None => pages::html(
            StatusCode::OK,
            &LogoutPage { issuer: &state.issuer, signed_out: true, hidden: Vec::new(), csrf_token: "" },
        )?,
    };
    pages::set_cookie(&mut response, Some(pages::expired_session_cookie(&state)));
    Ok(response)
}
