//! A browser, as far as the sign-in pages need one: cookies kept, redirects not followed (the tests look at
//! each one), forms read from the HTML and sent back as a browser would.

use auth_server::service::admin::ClientSpec;
use auth_server::service::registration::ClientProfile;
use reqwest::{Client, Response};

use crate::helpers::*;

/// The code-flow client the tests register: confidential, consent asked, PKCE required.
pub const WEB_ID: &str = "web-app";
pub const WEB_SECRET: &str = "web-app-secret";
/// Never contacted: the tests read the redirect's `Location` instead of following it.
pub const WEB_REDIRECT: &str = "http://127.0.0.1:9/callback";

pub fn web_profile() -> ClientProfile {
    ClientProfile {
        name: "Web App".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: ["openid", "email", "read"].map(String::from).to_vec(),
        redirect_uris: vec![WEB_REDIRECT.into(), "http://localhost:9/other".into()],
        post_logout_redirect_uris: vec!["http://127.0.0.1:9/signed-out".into()],
        require_pkce: true,
        ..ClientProfile::default()
    }
}

impl TestApp {
    /// Registers [`WEB_ID`] with `profile`.
    pub async fn web_client(&self, profile: ClientProfile) {
        let spec =
            ClientSpec { client_id: Some(WEB_ID.into()), secret: Some(WEB_SECRET.into()), public: false, profile };
        self.register(spec).await;
    }
}

pub struct Browser {
    pub http: Client,
}

impl Browser {
    pub fn new() -> Self {
        let http = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http }
    }

    pub async fn get(&self, url: &str) -> Response {
        self.http.get(url).send().await.unwrap()
    }

    /// Sends the page's form (its hidden fields, with `extra` added or replacing) to `action`.
    pub async fn submit(&self, action: &str, page: &str, extra: &[(&str, &str)]) -> Response {
        let mut fields: Vec<(String, String)> =
            hidden_fields(page).into_iter().filter(|(name, _)| !extra.iter().any(|(n, _)| n == name)).collect();
        fields.extend(extra.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
        self.http.post(action).form(&fields).send().await.unwrap()
    }

    /// Signs in on `login_page` and returns the answer (the consent page, or the redirect with a code).
    pub async fn sign_in(&self, app: &TestApp, login_page: &str, email: &str) -> Response {
        let action = app.url("/o/authorize/");
        self.submit(&action, login_page, &[("action", "login"), ("email", email), ("password", PASSWORD)]).await
    }
}

impl Browser {
    /// Goes through `/o/authorize/` for `client_id` (signing in as `email` and allowing, if asked) and
    /// returns the code. `challenge` is the PKCE S256 challenge, if any.
    pub async fn code_for(&self, app: &TestApp, client_id: &str, email: &str, challenge: Option<&str>) -> String {
        let pkce = challenge.map(|c| format!("&code_challenge={c}&code_challenge_method=S256")).unwrap_or_default();
        let url = app.url(&format!(
            "/o/authorize/?response_type=code&client_id={client_id}&redirect_uri={WEB_REDIRECT}&scope=openid%20read&state=s&nonce=n{pkce}"
        ));
        let mut response = self.get(&url).await;
        for _ in 0..2 {
            if response.status().is_redirection() {
                break;
            }
            assert_eq!(response.status(), 200);
            let page = response.text().await.unwrap();
            response = if page.contains(r#"name="password""#) {
                self.sign_in(app, &page, email).await
            } else {
                self.submit(&app.url("/o/authorize/"), &page, &[("action", "allow")]).await
            };
        }
        param(&location(&response), "code").expect("a code")
    }
}

/// `(name, value)` of every `<input type="hidden">` of an HTML page, entities decoded.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter(|tag| tag.contains(r#"type="hidden""#))
        .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
        .collect()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(r#" {name}=""#))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find(';') else { break };
        let entity = &rest[at + 1..at + end];
        let decoded = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&rest[at..=at + end]),
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The `Location` of a redirect.
pub fn location(response: &Response) -> url::Url {
    assert!(response.status().is_redirection(), "expected a redirect, got {}", response.status());
    url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

/// A query parameter of `url`.
pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
}

/// The `Set-Cookie` value of cookie `name`, if the answer sets it.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// An S256 PKCE pair: (verifier, challenge).
pub fn pkce_pair() -> (String, String) {
    let verifier = auth_server::service::tokens::random_token().unwrap();
    let challenge = auth_server::service::pkce::s256(&verifier);
    (verifier, challenge)
}
