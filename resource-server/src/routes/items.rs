//! The items API (the tutorial's DRF generic views): list/create on `/items/`, retrieve/update/delete on
//! `/items/<id>/`. Reading needs `read`, writing needs `write`, changing an item needs to own it.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared_core::body;
use shared_core::client_ip::TrustedProxies;
use shared_core::items::ItemInput;
use shared_core::FieldErrors;

use crate::auth::Authenticated;
use crate::error::Error;
use crate::service;
use crate::state::AppState;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// `?limit=` and `?offset=` as sent: the last of each when repeated, as Django's `QueryDict.get` takes it;
/// other parameters are ignored.
#[derive(Default)]
pub struct PageQuery {
    limit: Option<String>,
    offset: Option<String>,
}

impl PageQuery {
    fn from_query_string(query: &str) -> Self {
        let mut page = Self::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "limit" => page.limit = Some(value.into_owned()),
                "offset" => page.offset = Some(value.into_owned()),
                _ => {}
            }
        }
        page
    }
}

/// `?limit=` (1..=1000, default 100; larger values are capped) and `?offset=` (>= 0).
fn paging(query: &PageQuery) -> Result<(i64, i64), FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut parse = |value: &Option<String>, field: &str, min: i64, default: i64| match value.as_deref() {
        None | Some("") => default,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n >= min => n,
            Ok(_) => {
                errors.add(field, format!("Ensure this value is greater than or equal to {min}."));
                default
            }
            Err(_) => {
                errors.add(field, "A valid integer is required.");
                default
            }
        },
    };
    let limit = parse(&query.limit, "limit", 1, DEFAULT_LIMIT).min(MAX_LIMIT);
    let offset = parse(&query.offset, "offset", 0, 0);
    errors.into_result()?;
    Ok((limit, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_paging_parameter_counts_by_its_last_value_and_others_are_ignored() {
        let page = PageQuery::from_query_string("limit=null&limit=5&offset=2&x=1");
        assert_eq!(paging(&page).unwrap(), (5, 2));
        assert_eq!(paging(&PageQuery::from_query_string("limit=5000")).unwrap(), (MAX_LIMIT, 0));
        let errors = paging(&PageQuery::from_query_string("limit=0&offset=abc")).unwrap_err();
        assert_eq!(errors.messages("limit"), ["Ensure this value is greater than or equal to 1."]);
        assert_eq!(errors.messages("offset"), ["A valid integer is required."]);
    }
}

/// An id that is not a positive 64-bit integer names no item: 404, like any unknown id.
fn item_id(raw: &str) -> Result<i64, Error> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(Error::NotFound)
}

/// `GET /items/`: a page of items in id order, with `X-Total-Count` and an RFC 8288 `Link: rel="next"`.
#[utoipa::path(get, path = "/items/", tag = "items", security(("bearer" = ["read"])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, description = "Items per page: default 100; above 1000 means 1000"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Items to skip"),
    ),
    responses(
        (status = 200, description = "A page in id order; X-Total-Count; Link rel=next while more follow", body = Vec<shared_core::items::Item>),
        (status = 400, description = "A bad limit or offset (DRF shape)", body = shared_core::FieldErrors),
        (status = 401, description = "No or invalid token (WWW-Authenticate: Bearer)", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "insufficient_scope, a token without a user, or access_denied for another user's item", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn list(req: HttpRequest, auth: Authenticated, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    auth.user_with_scope("read")?;
    let (limit, offset) = paging(&PageQuery::from_query_string(req.query_string()))?;
    let page = service::list(&state, limit, offset).await?;
    let mut response = HttpResponse::Ok();
    response.insert_header(("X-Total-Count", page.total.to_string()));
    if offset + (page.items.len() as i64) < page.total {
        let (scheme, host) = origin(&req);
        let next = format!("<{scheme}://{host}{}?limit={limit}&offset={}>; rel=\"next\"", req.path(), offset + limit);
        response.insert_header((header::LINK, next));
    }
    Ok(response.json(page.items))
}

/// The scheme and host links to this server use: what a trusted proxy forwarded (`Forwarded`,
/// `X-Forwarded-Host`, `X-Forwarded-Proto`), else the request's own `Host`: anyone else's forwarding headers
/// would let them point the links elsewhere.
fn origin(req: &HttpRequest) -> (String, String) {
    let peer = req.peer_addr().map(|address| address.ip());
    if req.app_data::<web::Data<TrustedProxies>>().is_some_and(|proxies| proxies.trusts(peer)) {
        let info = req.connection_info();
        return (info.scheme().to_owned(), info.host().to_owned());
    }
    let config = req.app_config();
    let scheme = if config.secure() { "https" } else { "http" };
    let host = req.headers().get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or(config.host());
    (scheme.to_owned(), host.to_owned())
}

/// `POST /items/`: 201 with the item, owned by the token's user.
#[utoipa::path(post, path = "/items/", tag = "items", security(("bearer" = ["write"])),
    request_body(description = "JSON or form-encoded", content(
        (shared_core::items::ItemInput = "application/json"),
        (shared_core::items::ItemInput = "application/x-www-form-urlencoded"))),
    responses(
        (status = 201, description = "Created, owned by the token's user", body = shared_core::items::Item),
        (status = 400, description = "Field errors (DRF shape), or invalid_request for a body that is not a JSON object", body = shared_core::field_errors::FieldErrorsOrError),
        (status = 401, description = "No or invalid token (WWW-Authenticate: Bearer)", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "insufficient_scope, a token without a user, or access_denied for another user's item", body = shared_core::oauth::ErrorBody),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let user = auth.user_with_scope("write")?;
    let input: ItemInput = body::json_or_form(&req, payload).await?;
    let item = service::create(&state, user, input).await?;
    Ok(HttpResponse::Created().json(item))
}

/// `GET /items/<id>/`.
#[utoipa::path(get, path = "/items/{id}/", tag = "items", security(("bearer" = ["read"])), params(("id" = i64, Path, minimum = 1, description = "Item id; anything but a positive integer is 404")),
    responses(
        (status = 200, description = "The item", body = shared_core::items::Item),
        (status = 401, description = "No or invalid token (WWW-Authenticate: Bearer)", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "insufficient_scope, a token without a user, or access_denied for another user's item", body = shared_core::oauth::ErrorBody),
        (status = 404, description = "No such item", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn retrieve(
    auth: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    auth.user_with_scope("read")?;
    let item = service::get(&state, item_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(item))
}

async fn update(
    req: HttpRequest,
    payload: web::Payload,
    auth: Authenticated,
    id: &str,
    state: &AppState,
    partial: bool,
) -> Result<HttpResponse, Error> {
    let user = auth.user_with_scope("write")?;
    let id = item_id(id)?;
    let input: ItemInput = body::json_or_form(&req, payload).await?;
    let item = service::update(state, user, id, input, partial).await?;
    Ok(HttpResponse::Ok().json(item))
}

/// `PUT /items/<id>/`: a full update, by the owner only.
#[utoipa::path(put, path = "/items/{id}/", tag = "items", security(("bearer" = ["write"])), params(("id" = i64, Path, minimum = 1, description = "Item id; anything but a positive integer is 404")),
    request_body(description = "A full update, by the owner only; JSON or form-encoded", content(
        (shared_core::items::ItemInput = "application/json"),
        (shared_core::items::ItemInput = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Updated", body = shared_core::items::Item),
        (status = 400, description = "Field errors (DRF shape), or invalid_request for a body that is not a JSON object", body = shared_core::field_errors::FieldErrorsOrError),
        (status = 401, description = "No or invalid token (WWW-Authenticate: Bearer)", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "insufficient_scope, a token without a user, or access_denied for another user's item", body = shared_core::oauth::ErrorBody),
        (status = 404, description = "No such item", body = shared_core::oauth::ErrorBody),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn replace(
    req: HttpRequest,
    payload: web::Payload,
    auth: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    update(req, payload, auth, &id, &state, false).await
}

/// `PATCH /items/<id>/`: a partial update, by the owner only.
#[utoipa::path(patch, path = "/items/{id}/", tag = "items", security(("bearer" = ["write"])), params(("id" = i64, Path, minimum = 1, description = "Item id; anything but a positive integer is 404")),
    request_body(description = "A partial update, by the owner only; JSON or form-encoded", content(
        (shared_core::items::ItemPatch = "application/json"),
        (shared_core::items::ItemPatch = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Updated", body = shared_core::items::Item),
        (status = 400, description = "Field errors (DRF shape), or invalid_request for a body that is not a JSON object", body = shared_core::field_errors::FieldErrorsOrError),
        (status = 401, description = "No or invalid token (WWW-Authenticate: Bearer)", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "insufficient_scope, a token without a user, or access_denied for another user's item", body = shared_core::oauth::ErrorBody),
        (status = 404, description = "No such item", body = shared_core::oauth::ErrorBody),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn patch(
    req: HttpRequest,
    payload: web::Payload,
    auth: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    update(req, payload, auth, &id, &state, true).await
}

/// `DELETE /items/<id>/`: 204, by the owner only.
#[utoipa::path(delete, path = "/items/{id}/", tag = "items", security(("bearer" = ["write"])), params(("id" = i64, Path, minimum = 1, description = "Item id; anything but a positive integer is 404")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or invalid token (WWW-Authenticate: Bearer)", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "insufficient_scope, a token without a user, or access_denied for another user's item", body = shared_core::oauth::ErrorBody),
        (status = 404, description = "No such item", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn destroy(
    auth: Authenticated,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let user = auth.user_with_scope("write")?;
    service::delete(&state, user, item_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
