//! The browser pages' plumbing: the templates (in `auth-server/templates/`), the session and CSRF cookies,
//! and the CSRF check. The security headers every page carries come from one middleware ([`security_headers`]).

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::service::sign_in::well_formed;
use crate::service::tokens::random_token;
use crate::state::AppState;

/// Django's cookie and field names, as the tutorial's stack uses.
const SESSION_COOKIE: &str = "sessionid";
const CSRF_COOKIE: &str = "csrftoken";
pub const CSRF_FIELD: &str = "csrfmiddlewaretoken";

/// No framing (clickjacking of the login and consent pages), no plug-ins or scripts, styles only from
/// `/o/static/`. No `form-action`: browsers apply it to the redirect that follows a form, which leads to
/// the client's redirect URI. `no-store` unless a handler says otherwise (codes and tokens in answers).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// Cookie names get the `__Host-` prefix on https (RFC 6265bis §4.1.3.2): no subdomain can set them.
fn cookie_name(state: &AppState, name: &'static str) -> String {
    if state.browser.secure_cookies {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    same_site: SameSite,
    max_age: Duration,
) -> Cookie<'static> {
    Cookie::build(cookie_name(state, name), value)
        .path("/")
        .http_only(true)
        .secure(state.browser.secure_cookies)
        .same_site(same_site)
        .max_age(max_age)
        .finish()
}

/// Adds `cookie` to `response`. Names are constants and values base64url, which a header always accepts.
pub fn set_cookie(response: &mut HttpResponse, cookie: Option<Cookie<'static>>) {
    if let Some(cookie) = cookie {
        if response.add_cookie(&cookie).is_err() {
            log::error!("a cookie could not be set");
        }
    }
}

/// The session cookie's value, as the browser sent it.
pub fn session_cookie(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(&cookie_name(state, SESSION_COOKIE)).map(|c| c.value().to_owned())
}

/// `SameSite=Lax`: sent when the user follows a link from the client to `/o/authorize/`, not on
/// cross-site forms.
pub fn new_session_cookie(state: &AppState, value: String) -> Cookie<'static> {
    cookie(state, SESSION_COOKIE, value, SameSite::Lax, Duration::seconds(state.browser.session_lifetime))
}

pub fn expired_session_cookie(state: &AppState) -> Cookie<'static> {
    cookie(state, SESSION_COOKIE, String::new(), SameSite::Lax, Duration::ZERO)
}

/// The CSRF token for a form: the browser's `csrftoken` cookie, or a new one to set (double submit:
/// another site can neither read the cookie nor set it, so it cannot fill the form's field).
pub fn csrf_token(req: &HttpRequest, state: &AppState) -> Result<(String, Option<Cookie<'static>>), Error> {
    if let Some(existing) = req.cookie(&cookie_name(state, CSRF_COOKIE)).filter(|c| well_formed(c.value())) {
        return Ok((existing.value().to_owned(), None));
    }
    let token = random_token()?;
    let set = cookie(state, CSRF_COOKIE, token.clone(), SameSite::Strict, Duration::days(365));
    Ok((token, Some(set)))
}

/// A form's CSRF field must equal the cookie, in constant time.
pub fn check_csrf(req: &HttpRequest, state: &AppState, field: Option<&str>) -> Result<(), Error> {
    let cookie = req.cookie(&cookie_name(state, CSRF_COOKIE));
    match (cookie, field) {
        (Some(cookie), Some(field))
            if well_formed(field) && bool::from(cookie.value().as_bytes().ct_eq(field.as_bytes())) =>
        {
            Ok(())
        }
        _ => Err(Error::CsrfFailed),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub client_name: &'a str,
    pub failed: bool,
    pub email: &'a str,
    pub hidden: Vec<(&'static str, &'a str)>,
    pub csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub client_name: &'a str,
    pub email: &'a str,
    /// Each scope and what it allows.
    pub scopes: Vec<(&'a str, &'a str)>,
    pub hidden: Vec<(&'static str, &'a str)>,
    pub csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub issuer: &'a str,
    pub signed_out: bool,
    pub hidden: Vec<(&'static str, &'a str)>,
    pub csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A rendered page with `status`.
pub fn html(status: StatusCode, page: &impl Template) -> Result<HttpResponse, Error> {
    let body = page.render().map_err(Error::Template)?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

/// The error page; if even that fails to render, plain text.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    match (ErrorPage { title, message }).render() {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(_) => {
            HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(format!("{title}\n\n{message}"))
        }
    }
}

/// `GET /o/static/style.css`: the pages' one style sheet, compiled in.
pub async fn style_sheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../templates/style.css"))
}
