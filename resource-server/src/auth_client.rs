//! The one HTTP client to the authorization server (pooled, with connect and total timeouts): token
//! introspection (RFC 7662) and the forwarded account calls. The client secret is added here and nowhere
//! else; it never reaches a response or a log line.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use shared_core::oauth::{IntrospectionResponse, TokenParameters, TokenRequest};
use shared_core::request_context;

use crate::discovery::{self, DiscoveryError, Endpoints};
use crate::error::{Error, UpstreamError};
use crate::settings::AuthSettings;

const INTROSPECT: &str = "introspection";
const TOKEN: &str = "token";
const JWKS: &str = "JWKS";
const REVOCATIONS: &str = "revocation events";

pub struct AuthClient {
    http: reqwest::Client,
    /// For the revocation stream: no total timeout (the stream stays open); silence is timed by the reader.
    streaming: reqwest::Client,
    endpoints: Endpoints,
    client_id: String,
    client_secret: String,
    introspection_token: Option<String>,
    /// `auth.audience`: the proxied grants ask for tokens for this API (RFC 8707 `resource`).
    audience: Option<String>,
    timeout: Duration,
    proxy_timeout: Duration,
}

/// An answer of the auth server, passed through as is.
pub struct Upstream {
    pub status: StatusCode,
    pub content_type: Option<String>,
    /// A 429's (or 503's) `Retry-After`.
    pub retry_after: Option<String>,
    pub body: Bytes,
}

/// A failed call to `path`. reqwest's errors name the URL and the kind of failure, never the body.
fn transport(path: &'static str) -> impl FnOnce(reqwest::Error) -> UpstreamError {
    move |source| UpstreamError::Transport { path, source }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the HTTP client could not be built")]
    Client(#[from] reqwest::Error),
    #[error("discovery of the auth server failed")]
    Discovery(#[from] DiscoveryError),
}

impl AuthClient {
    /// The client, with the auth server's endpoints resolved (discovery waits for the auth server).
    pub async fn connect(settings: &AuthSettings) -> Result<Self, ConnectError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()?;
        let streaming = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .tcp_nodelay(true)
            .build()?;
        let endpoints = discovery::resolve(&http, settings).await?;
        Ok(Self {
            http,
            streaming,
            endpoints,
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            introspection_token: Some(settings.introspection_token.clone()).filter(|t| !t.is_empty()),
            audience: Some(settings.audience.clone()).filter(|a| !a.is_empty()),
            timeout: Duration::from_millis(settings.timeout_ms),
            proxy_timeout: Duration::from_millis(settings.proxy_timeout_ms),
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Asks the auth server about `token`. Transport failures, timeouts, 5xx, and refusals of this server's
    /// own credentials (a misconfiguration the caller cannot fix) are all failures of the upstream.
    pub async fn introspect(&self, token: &str) -> Result<IntrospectionResponse, UpstreamError> {
        let parameters = TokenParameters { token: Some(token.to_owned()), ..TokenParameters::default() };
        let request = self.http.post(&self.endpoints.introspection).timeout(self.timeout).form(&parameters);
        let request = match &self.introspection_token {
            Some(bearer) => request.bearer_auth(bearer),
            None => request.basic_auth(&self.client_id, Some(&self.client_secret)),
        };
        // One id follows the request across both servers' logs.
        let request = match request_context::with_request_id(|id| id.map(str::to_owned)) {
            Some(id) => request.header(request_context::REQUEST_ID_HEADER, id),
            None => request,
        };
        let response = request.send().await.map_err(transport(INTROSPECT))?;
        let status = response.status();
        if status.is_client_error() {
            return Err(UpstreamError::CredentialsRefused(status));
        }
        if !status.is_success() {
            return Err(UpstreamError::Status { path: INTROSPECT, status });
        }
        response.json().await.map_err(UpstreamError::Malformed)
    }

    /// Forwards a token request to the token endpoint with this server's client credentials, asking for
    /// tokens for this API when it has an audience.
    pub async fn token(&self, mut request: TokenRequest) -> Result<Upstream, Error> {
        request.resource = self.audience.clone();
        let request =
            self.http.post(&self.endpoints.token).basic_auth(&self.client_id, Some(&self.client_secret)).form(&request);
        self.send(TOKEN, request).await
    }

    /// Forwards a JSON body (and the caller's `Authorization`, if any) to an account endpoint.
    pub async fn account(
        &self,
        method: reqwest::Method,
        path: &'static str,
        authorization: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<Upstream, Error> {
        let url = format!("{}{path}", self.endpoints.base);
        let mut request = self.http.request(method, url).json(body);
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        self.send(path, request).await
    }

    /// Sends a proxied call on behalf of the request being answered: its client's address goes along in
    /// `X-Forwarded-For` (the auth server believes it if it lists this server in `http.trusted_proxies`, and
    /// then rate-limits and audits the real client), and so does its request id.
    async fn send(&self, path: &'static str, mut request: reqwest::RequestBuilder) -> Result<Upstream, Error> {
        let context = request_context::current();
        if let Some(ip) = context.client_ip {
            request = request.header("x-forwarded-for", ip.to_string());
        }
        if let Some(id) = context.request_id {
            request = request.header(request_context::REQUEST_ID_HEADER, id);
        }
        let response = request.timeout(self.proxy_timeout).send().await.map_err(transport(path))?;
        if response.status().is_server_error() {
            return Err(UpstreamError::Status { path, status: response.status() }.into());
        }
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (content_type, retry_after) = (header(CONTENT_TYPE), header(RETRY_AFTER));
        let body = response.bytes().await.map_err(transport(path))?;
        Ok(Upstream { status, content_type, retry_after, body })
    }

    /// Opens the revocation event stream at `url`, resuming after `last_event_id`, with the credentials
    /// introspection uses. The answer is the caller's to judge (a 404: the auth server has none).
    pub async fn revocation_stream(
        &self,
        url: &str,
        last_event_id: Option<i64>,
    ) -> Result<reqwest::Response, UpstreamError> {
        let mut request = self.streaming.get(url).header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let request = match &self.introspection_token {
            Some(bearer) => request.bearer_auth(bearer),
            None => request.basic_auth(&self.client_id, Some(&self.client_secret)),
        };
        // One id follows the request across both servers' logs.
        let request = match request_context::with_request_id(|id| id.map(str::to_owned)) {
            Some(id) => request.header(request_context::REQUEST_ID_HEADER, id),
            None => request,
        };
        request.send().await.map_err(transport(REVOCATIONS))
    }

    /// The auth server's JWKS (the keys of JWT access tokens).
    pub async fn jwks(&self) -> Result<jsonwebtoken::jwk::JwkSet, UpstreamError> {
        let Some(url) = &self.endpoints.jwks else { return Err(UpstreamError::NoJwks) };
        let response = self.http.get(url).timeout(self.timeout).send().await.map_err(transport(JWKS))?;
        if !response.status().is_success() {
            return Err(UpstreamError::Status { path: JWKS, status: response.status() });
        }
        response.json().await.map_err(UpstreamError::Malformed)
    }

    /// Does the auth server answer its liveness probe (`auth.health_url`)?
    pub async fn is_live(&self) -> bool {
        matches!(self.http.get(&self.endpoints.health).timeout(self.timeout).send().await, Ok(r) if r.status().is_success())
    }
}
