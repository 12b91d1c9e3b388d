//! The authorization endpoint (RFC 6749 §4.1.1-§4.1.2, RFC 7636 §4.3, OpenID Connect Core §3.1.2): which
//! requests are refused and how, when the user must sign in or consent, and the code.
//!
//! Until the client and its redirect URI are known good, an error is shown to the user and never redirected
//! (RFC 6749 §4.1.2.1; anything else is an open redirector). From then on every error goes back to the
//! client, with `state` and `iss` (RFC 9207).

use shared_core::oauth::{AuthorizationRequest, ErrorCode, Scopes};
use shared_core::token_digest;

use super::client_auth::Client;
use super::grants::AUTHORIZATION_CODE;
use super::pkce;
use super::scopes::grant_scopes;
use super::sign_in::{check_password, session_digest, start_session, Attempt};
use super::tokens::random_token;
use crate::audit::Method;
use crate::db::codes::{self, NewCode};
use crate::db::sessions::{self, SessionRow};
use crate::db::{self, clients, consents};
use crate::error::Error;
use crate::state::AppState;

/// The longest `nonce` kept (it is stored with the code and copied into the id_token).
const MAX_NONCE_CHARS: usize = 512;

/// The `prompt` values (OpenID Connect Core §3.1.2.1) this server acts on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A request from a known client for one of its redirect URIs, all parameters checked.
#[derive(Debug, Clone)]
pub struct Validated {
    pub client: Client,
    pub redirect_uri: String,
    pub scope: Scopes,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    /// The request as it came: the login and consent forms carry it on.
    pub request: AuthorizationRequest,
}

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Said on an error page: the client or the redirect URI cannot be trusted.
    Page(&'static str),
    /// The error, as a redirect back to the client.
    Redirect(String),
}

/// What the endpoint answers.
#[derive(Debug)]
pub enum Outcome {
    Refused(Refusal),
    /// The login page; `failed` after a wrong email or password.
    Login {
        request: Validated,
        failed: bool,
    },
    /// The consent page, for the signed-in user.
    Consent {
        request: Validated,
        user: SessionRow,
    },
    /// Back to the client with a code.
    Redirect(String),
}

/// What one read finds: the client, the browser's session and what its user allowed this client.
struct Found {
    client: Option<Client>,
    session: Option<SessionRow>,
    consented: Option<Scopes>,
}

async fn find(state: &AppState, client_id: Option<String>, cookie: Option<&str>, now: i64) -> Result<Found, Error> {
    let session_hash = session_digest(cookie);
    db::read(&state.pool, move |c| {
        let Some(client_id) = client_id else { return Ok(Found { client: None, session: None, consented: None }) };
        let client = clients::find_by_client_id(c, &client_id)?.map(|row| Client::from_row(&row));
        let session = match (&client, session_hash) {
            (Some(_), Some(hash)) => sessions::find_live(c, &hash, now)?,
            _ => None,
        };
        let consented = match (&client, &session) {
            (Some(client), Some(session)) => consents::find(c, session.user_id, client.pk)?,
            _ => None,
        };
        Ok(Found { client, session, consented: consented.map(|scope| Scopes::parse(&scope).unwrap_or_default()) })
    })
    .await
}

/// Reads what the request needs (one read) and validates it against the client found.
async fn find_valid(
    state: &AppState,
    request: AuthorizationRequest,
    cookie: Option<&str>,
    now: i64,
) -> Result<Result<(Validated, Found), Refusal>, Error> {
    let mut found = find(state, request.client_id.clone(), cookie, now).await?;
    Ok(validate(state, request, found.client.take()).map(|request| (request, found)))
}

/// `GET /o/authorize/` (and a `POST` carrying the same parameters): signs in with the session if there is
/// one, then asks for consent or answers with a code.
pub async fn authorize(
    state: &AppState,
    request: AuthorizationRequest,
    cookie: Option<&str>,
    now: i64,
) -> Result<Outcome, Error> {
    let (request, found) = match find_valid(state, request, cookie, now).await? {
        Ok(valid) => valid,
        Err(refusal) => return Ok(Outcome::Refused(refusal)),
    };
    next_step(state, request, found.session, found.consented, false, now).await
}

/// The login form: checks the password, starts a new session (ending the one of `cookie`) and goes on as
/// [`authorize`] would. Returns the new session's cookie value when the sign-in succeeded.
pub async fn sign_in(
    state: &AppState,
    request: AuthorizationRequest,
    email: &str,
    password: String,
    cookie: Option<&str>,
    now: i64,
) -> Result<(Outcome, Option<String>), Error> {
    let request = match find_valid(state, request, None, now).await? {
        Ok((request, _)) => request,
        Err(refusal) => return Ok((Outcome::Refused(refusal), None)),
    };
    let attempt = Attempt { method: Method::LoginPage, client_id: Some(&request.client.client_id) };
    let Some(user) = check_password(state, email, password, attempt, now).await? else {
        return Ok((Outcome::Login { request, failed: true }, None));
    };
    let (token, session) = start_session(state, &user, cookie, now).await?;
    log::info!("user signed in through the login page");
    let (user_id, client_pk) = (user.id, request.client.pk);
    let consented = db::read(&state.pool, move |c| Ok(consents::find(c, user_id, client_pk)?))
        .await?
        .map(|scope| Scopes::parse(&scope).unwrap_or_default());
    let outcome = next_step(state, request, Some(session), consented, true, now).await?;
    Ok((outcome, Some(token)))
}

/// The consent form: `allow` issues a code (and remembers the scopes), otherwise `access_denied`.
pub async fn answer_consent(
    state: &AppState,
    request: AuthorizationRequest,
    allow: bool,
    cookie: Option<&str>,
    now: i64,
) -> Result<Outcome, Error> {
    let (request, found) = match find_valid(state, request, cookie, now).await? {
        Ok(valid) => valid,
        Err(refusal) => return Ok(Outcome::Refused(refusal)),
    };
    let Some(session) = found.session else {
        return Ok(Outcome::Login { request, failed: false });
    };
    if !allow {
        let redirect = error_redirect(&request, &state.issuer, ErrorCode::AccessDenied, "the user denied the request");
        return Ok(Outcome::Redirect(redirect));
    }
    let remember = found.consented.map_or_else(|| request.scope.clone(), |old| old.union(&request.scope));
    issue_code(state, &request, &session, Some(remember), now).await.map(Outcome::Redirect)
}

/// What the request needs next, for this session (`fresh` when the password was given just now).
async fn next_step(
    state: &AppState,
    request: Validated,
    session: Option<SessionRow>,
    consented: Option<Scopes>,
    fresh: bool,
    now: i64,
) -> Result<Outcome, Error> {
    let recent = |s: &SessionRow| request.max_age.is_none_or(|max_age| now - s.auth_time <= max_age);
    let session = session.filter(|s| fresh || (!request.prompt.login && recent(s)));
    let Some(session) = session else {
        if request.prompt.none {
            let why = "the user is not signed in";
            return Ok(Outcome::Redirect(error_redirect(&request, &state.issuer, ErrorCode::LoginRequired, why)));
        }
        return Ok(Outcome::Login { request, failed: false });
    };
    let covered = consented.is_some_and(|allowed| request.scope.is_subset(&allowed));
    let ask = !request.client.skip_consent && (request.prompt.consent || !covered);
    if ask && request.prompt.none {
        let why = "the user has not allowed these scopes";
        return Ok(Outcome::Redirect(error_redirect(&request, &state.issuer, ErrorCode::ConsentRequired, why)));
    }
    if ask {
        return Ok(Outcome::Consent { request, user: session });
    }
    issue_code(state, &request, &session, None, now).await.map(Outcome::Redirect)
}

/// Stores a code for the session's user (and, when given, the scopes the user now allows the client) and
/// returns the redirect that carries it.
async fn issue_code(
    state: &AppState,
    request: &Validated,
    session: &SessionRow,
    remember: Option<Scopes>,
    now: i64,
) -> Result<String, Error> {
    let code = random_token()?;
    let hash = token_digest(&code);
    let (client_pk, user_id, auth_time) = (request.client.pk, session.user_id, session.auth_time);
    let redirect_uri = request.redirect_uri.clone();
    let scope = request.scope.to_string();
    let nonce = request.request.nonce.clone();
    let challenge = request.request.code_challenge.clone();
    let expires_at = now + state.browser.code_lifetime;
    db::write(&state.pool, move |c| {
        if let Some(remember) = remember {
            consents::save(c, user_id, client_pk, &remember.to_string(), now)?;
        }
        let family = uuid::Uuid::new_v4().to_string();
        let row = NewCode {
            code_hash: &hash,
            client_id: client_pk,
            user_id,
            redirect_uri: &redirect_uri,
            scope: &scope,
            nonce: nonce.as_deref(),
            code_challenge: challenge.as_deref(),
            auth_time,
            family_id: &family,
            issued_at: now,
            expires_at,
            used_at: None,
        };
        Ok(codes::insert(c, &row)?)
    })
    .await?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = request.request.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &state.issuer));
    Ok(with_query(&request.redirect_uri, &pairs))
}

/// Checks everything but the user: the client and redirect URI first (errors on a page), then the rest
/// (errors redirected).
pub fn validate(state: &AppState, request: AuthorizationRequest, client: Option<Client>) -> Result<Validated, Refusal> {
    if request.client_id.is_none() {
        return Err(Refusal::Page("The request names no client (client_id is missing)."));
    }
    let Some(client) = client else {
        return Err(Refusal::Page("The client is not known to this server."));
    };
    let redirect_uri = match (request.redirect_uri.as_deref(), client.redirect_uris.as_slice()) {
        (Some(uri), registered) if registered.iter().any(|r| r == uri) => uri.to_owned(),
        (Some(_), _) => return Err(Refusal::Page("The redirect URI is not registered for this client.")),
        (None, [only]) => only.clone(),
        (None, []) => return Err(Refusal::Page("This client has no redirect URI registered.")),
        (None, _) => return Err(Refusal::Page("The client has several redirect URIs: redirect_uri is required.")),
    };
    let checked = check_parameters(state, &request, &client);
    let mut validated =
        Validated { client, redirect_uri, scope: Scopes::default(), prompt: Prompt::default(), max_age: None, request };
    match checked {
        Ok((scope, prompt, max_age)) => {
            (validated.scope, validated.prompt, validated.max_age) = (scope, prompt, max_age);
            Ok(validated)
        }
        Err((code, why)) => Err(Refusal::Redirect(error_redirect(&validated, &state.issuer, code, &why))),
    }
}

type Checked = (Scopes, Prompt, Option<i64>);

/// The parameters after the client and redirect URI; an error is `(code, description)`.
fn check_parameters(
    state: &AppState,
    request: &AuthorizationRequest,
    client: &Client,
) -> Result<Checked, (ErrorCode, String)> {
    let invalid = |why: &str| Err((ErrorCode::InvalidRequest, why.to_owned()));
    if request.request.is_some() {
        return Err((ErrorCode::RequestNotSupported, "request objects are not supported".into()));
    }
    if request.request_uri.is_some() {
        return Err((ErrorCode::RequestUriNotSupported, "request_uri is not supported".into()));
    }
    match request.response_type.as_deref() {
        None => return invalid("response_type is required"),
        Some("code") => {}
        Some(_) => return Err((ErrorCode::UnsupportedResponseType, "only response_type=code is supported".into())),
    }
    if request.response_mode.as_deref().is_some_and(|mode| mode != "query") {
        return invalid("only response_mode=query is supported");
    }
    if !client.may_use_grant(AUTHORIZATION_CODE) {
        return Err((ErrorCode::UnauthorizedClient, "this client may not use the authorization code flow".into()));
    }
    let scope = grant_scopes(request.scope.as_deref(), &client.scopes, &state.policy.default_scopes, true).map_err(
        |e| match e {
            Error::OAuth { code, description } => (code, description.into_owned()),
            other => (ErrorCode::InvalidScope, other.to_string()),
        },
    )?;
    match (request.code_challenge.as_deref(), request.code_challenge_method.as_deref()) {
        (Some(challenge), Some("S256")) if challenge.len() == 43 && pkce::well_formed(challenge) => {}
        (Some(_), Some("S256")) => return invalid("code_challenge must be 43 base64url characters (S256)"),
        (Some(_), _) => return invalid("code_challenge_method must be S256 (plain is not supported)"),
        (None, Some(_)) => return invalid("code_challenge_method without code_challenge"),
        (None, None) if client.require_pkce || !client.confidential => {
            return invalid("this client must use PKCE: code_challenge with code_challenge_method=S256");
        }
        (None, None) => {}
    }
    let mut prompt = Prompt::default();
    for value in request.prompt.as_deref().unwrap_or("").split_whitespace() {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // One account per session: there is nothing to select.
            "select_account" => {}
            _ => return invalid("prompt may hold none, login, consent and select_account only"),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return invalid("prompt=none cannot be combined with other values");
    }
    let max_age = match request.max_age.as_deref() {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(seconds) => Some(i64::from(seconds)),
            Err(_) => return invalid("max_age must be a number of seconds"),
        },
    };
    if request.nonce.as_deref().is_some_and(|nonce| nonce.chars().count() > MAX_NONCE_CHARS) {
        return invalid("nonce is too long");
    }
    Ok((scope, prompt, max_age))
}

/// The error redirect (RFC 6749 §4.1.2.1, RFC 9207).
fn error_redirect(request: &Validated, issuer: &str, code: ErrorCode, description: &str) -> String {
    let mut pairs = vec![("error", code.as_str()), ("error_description", description)];
    if let Some(state) = request.request.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    with_query(&request.redirect_uri, &pairs)
}

/// `uri` with `pairs` added to its query (a registered URI may carry a query of its own, RFC 6749 §3.1.2).
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.into()
        }
        // Registered URIs are checked to parse; this is not reached.
        Err(_) => uri.to_owned(),
    }
}
