//! The login, consent and logout pages as a browser meets them: cookies, CSRF, security headers, session
//! fixation, wrong passwords, denial, signing out.

use reqwest::header::HeaderMap;
use reqwest::Response;
use serde_json::Value;

use crate::browser::*;
use crate::helpers::*;

fn start_url(app: &TestApp, extra: &str) -> String {
    let (_, challenge) = pkce_pair();
    app.url(&format!(
        "/o/authorize/?response_type=code&client_id={WEB_ID}&redirect_uri={WEB_REDIRECT}&scope=openid%20read&state=xyz&code_challenge={challenge}&code_challenge_method=S256{extra}"
    ))
}

async fn signed_up(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.web_client(web_profile()).await;
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status(), 201);
    app
}

fn assert_no_framing(headers: &HeaderMap, what: &str) {
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(headers["cache-control"], "no-store", "{what}");
}

/// The body of an HTML page, after checking its security headers.
async fn page(response: Response, status: u16, what: &str) -> String {
    assert_eq!(response.status(), status, "{what}");
    assert_no_framing(response.headers(), what);
    response.text().await.unwrap()
}

shared_core::on_both_backends! {
    async fn every_page_forbids_framing_and_caching(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        let login = page(browser.get(&start_url(&app, "")).await, 200, "login").await;
        let consent = page(browser.sign_in(&app, &login, "ada@example.com").await, 200, "consent").await;
        assert!(consent.contains("Allow"));
        page(browser.get(&app.url("/o/authorize/?client_id=nobody")).await, 400, "error page").await;
        page(browser.get(&app.url("/o/logout/")).await, 200, "logout").await;
        page(app.http.delete(app.url("/o/logout/")).send().await.unwrap(), 405, "405 page").await;
        let redirect = browser.submit(&app.url("/o/authorize/"), &consent, &[("action", "allow")]).await;
        assert_no_framing(redirect.headers(), "the redirect with a code");
        let style = browser.get(&app.url("/o/static/style.css")).await;
        assert_eq!(style.status(), 200);
        assert!(style.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    }

    async fn a_form_without_its_csrf_token_is_refused(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        let login = browser.get(&start_url(&app, "")).await.text().await.unwrap();
        let action = app.url("/o/authorize/");
        let credentials = [("action", "login"), ("email", "ada@example.com"), ("password", PASSWORD)];
        let without: Vec<(String, String)> = hidden_fields(&login).into_iter().filter(|(n, _)| n != "csrfmiddlewaretoken" && n != "action").collect();
        let mut form: Vec<(String, String)> = without.clone();
        form.extend(credentials.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
        let missing = browser.http.post(&action).form(&form).send().await.unwrap();
        assert!(set_cookie(&missing, "sessionid").is_none(), "no session without the token");
        assert!(page(missing, 403, "missing token").await.contains("expired"));
        let wrong = browser.submit(&action, &login, &[("csrfmiddlewaretoken", "A".repeat(43).as_str()), credentials[0], credentials[1], credentials[2]]).await;
        page(wrong, 403, "wrong token").await;
        // Another browser (no csrftoken cookie) replaying the page's token is refused too.
        let stranger = Browser::new();
        let replay = stranger.submit(&action, &login, &credentials).await;
        page(replay, 403, "replayed token").await;
        let right = browser.sign_in(&app, &login, "ada@example.com").await;
        assert_eq!(right.status(), 200);
    }

    async fn signing_in_always_gives_a_new_session_id(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        let planted = "P".repeat(43);
        let url = start_url(&app, "");
        let login = browser.http.get(&url).header("cookie", format!("sessionid={planted}")).send().await.unwrap().text().await.unwrap();
        let signed_in = browser.sign_in(&app, &login, "ada@example.com").await;
        let cookie = set_cookie(&signed_in, "sessionid").expect("a session cookie");
        let value = cookie.split(';').next().unwrap().trim_start_matches("sessionid=").to_owned();
        assert_ne!(value, planted, "a planted id is not adopted");
        assert_eq!(value.len(), 43, "256 random bits, base64url");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=28800"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(!cookie.contains("Secure"), "an http issuer cannot use Secure cookies");

        // Signing in again (prompt=login) replaces the session: the old id no longer signs anyone in.
        let again = browser.get(&start_url(&app, "&prompt=login")).await.text().await.unwrap();
        let renewed = browser.sign_in(&app, &again, "ada@example.com").await;
        let new_value = set_cookie(&renewed, "sessionid").unwrap().split(';').next().unwrap().trim_start_matches("sessionid=").to_owned();
        assert_ne!(new_value, value);
        let old = Browser::new();
        let with_old = old.http.get(start_url(&app, "&prompt=none")).header("cookie", format!("sessionid={value}")).send().await.unwrap();
        assert_eq!(param(&location(&with_old), "error").as_deref(), Some("login_required"));
        let with_new = old.http.get(start_url(&app, "&prompt=none")).header("cookie", format!("sessionid={new_value}")).send().await.unwrap();
        assert_eq!(param(&location(&with_new), "error").as_deref(), Some("consent_required"), "signed in, consent not given yet");
    }

    async fn an_https_issuer_gets_secure_host_only_cookies(backend) {
        let app = spawn_app_with(backend, |s| s.issuer = "https://auth.example.test".into()).await;
        app.web_client(web_profile()).await;
        app.signup("ada@example.com", PASSWORD).await;
        let login = Browser::new().get(&start_url(&app, "")).await;
        let csrf = set_cookie(&login, "__Host-csrftoken").expect("the CSRF cookie, host-only");
        assert!(csrf.contains("Secure") && csrf.contains("SameSite=Strict") && csrf.contains("HttpOnly"), "{csrf}");
    }

    async fn a_wrong_password_is_said_on_the_login_page(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        let login = browser.get(&start_url(&app, "")).await.text().await.unwrap();
        for (email, password) in [("ada@example.com", "wrong-password"), ("nobody@example.com", PASSWORD), ("not an email", PASSWORD)] {
            let answer = browser.submit(&app.url("/o/authorize/"), &login, &[("action", "login"), ("email", email), ("password", password)]).await;
            assert!(set_cookie(&answer, "sessionid").is_none());
            let again = page(answer, 200, "wrong password").await;
            assert!(again.contains("The email or the password is wrong."), "{again}");
            assert!(again.contains(r#"name="password""#));
        }
    }

    async fn denying_consent_answers_access_denied(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        let login = browser.get(&start_url(&app, "")).await.text().await.unwrap();
        let consent = browser.sign_in(&app, &login, "ada@example.com").await.text().await.unwrap();
        let denied = browser.submit(&app.url("/o/authorize/"), &consent, &[("action", "deny")]).await;
        let redirect = location(&denied);
        assert_eq!(param(&redirect, "error").as_deref(), Some("access_denied"));
        assert_eq!(param(&redirect, "state").as_deref(), Some("xyz"));
        assert!(param(&redirect, "code").is_none());
        // Nothing was remembered: the next request asks again.
        assert_eq!(browser.get(&start_url(&app, "")).await.status(), 200);
    }

    async fn signing_out_ends_the_session_and_goes_where_the_client_registered(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        browser.code_for(&app, WEB_ID, "ada@example.com", Some(&pkce_pair().1)).await;
        let signed_in = browser.get(&start_url(&app, "&prompt=none")).await;
        assert!(param(&location(&signed_in), "code").is_some());

        let unregistered = browser.get(&app.url(&format!("/o/logout/?client_id={WEB_ID}&post_logout_redirect_uri=https://evil.example/"))).await;
        page(unregistered, 400, "unregistered post-logout URI").await;
        let confirm = page(browser.get(&app.url(&format!("/o/logout/?client_id={WEB_ID}&post_logout_redirect_uri=http://127.0.0.1:9/signed-out&state=bye"))).await, 200, "confirm").await;
        let still = browser.get(&start_url(&app, "&prompt=none")).await;
        assert!(param(&location(&still), "code").is_some(), "showing the page signs no one out");
        let forged = browser.submit(&app.url("/o/logout/"), &confirm, &[("csrfmiddlewaretoken", "")]).await;
        page(forged, 403, "logout without CSRF").await;

        let out = browser.submit(&app.url("/o/logout/"), &confirm, &[]).await;
        let destination = location(&out);
        assert_eq!(destination.as_str(), "http://127.0.0.1:9/signed-out?state=bye");
        let after = browser.get(&start_url(&app, "&prompt=none")).await;
        assert_eq!(param(&location(&after), "error").as_deref(), Some("login_required"));
    }

    async fn an_id_token_hint_names_the_client_for_the_post_logout_redirect(backend) {
        let app = signed_up(backend).await;
        let browser = Browser::new();
        let (verifier, challenge) = pkce_pair();
        let code = browser.code_for(&app, WEB_ID, "ada@example.com", Some(&challenge)).await;
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", WEB_REDIRECT), ("code_verifier", verifier.as_str())];
        let tokens: serde_json::Value = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &form).await.json().await.unwrap();
        let hint = str_of(&tokens, "id_token").to_owned();
        let logout = |query: String| app.url(&format!("/o/logout/?post_logout_redirect_uri=http://127.0.0.1:9/signed-out&state=bye{query}"));

        // The signature's first character changed: fully significant bits, still base64url.
        let mut forged = hint.clone();
        let at = forged.rfind('.').unwrap() + 1;
        let flipped = if forged[at..].starts_with('A') { "B" } else { "A" };
        forged.replace_range(at..=at, flipped);
        page(browser.get(&logout(format!("&id_token_hint={forged}"))).await, 400, "a hint with a wrong signature").await;
        page(browser.get(&logout(format!("&id_token_hint={hint}&client_id={RS_ID}"))).await, 400, "a hint of another client").await;
        page(browser.get(&logout(String::new())).await, 400, "neither client_id nor a hint").await;

        let confirm = page(browser.get(&logout(format!("&id_token_hint={hint}"))).await, 200, "confirm").await;
        let out = browser.submit(&app.url("/o/logout/"), &confirm, &[]).await;
        assert_eq!(location(&out).as_str(), "http://127.0.0.1:9/signed-out?state=bye");
        let after = browser.get(&start_url(&app, "&prompt=none")).await;
        assert_eq!(param(&location(&after), "error").as_deref(), Some("login_required"));
    }

    async fn userinfo_needs_a_live_token_with_openid(backend) {
        let app = signed_up(backend).await;
        let anonymous = app.get("/o/userinfo/").await;
        let headers = assert_oauth_error(anonymous, 401, "invalid_request").await;
        assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        let junk = app.http.get(app.url("/o/userinfo/")).bearer_auth("junk").send().await.unwrap();
        assert_oauth_error(junk, 401, "invalid_token").await;
        let tokens = app.password_grant("ada@example.com", PASSWORD).await;
        let without_openid = app.http.get(app.url("/o/userinfo/")).bearer_auth(str_of(&tokens, "access_token")).send().await.unwrap();
        let headers = assert_oauth_error(without_openid, 403, "insufficient_scope").await;
        assert!(headers["www-authenticate"].to_str().unwrap().contains(r#"scope="openid""#));

        let (verifier, challenge) = pkce_pair();
        let code = Browser::new().code_for(&app, WEB_ID, "ada@example.com", Some(&challenge)).await;
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", WEB_REDIRECT), ("code_verifier", verifier.as_str())];
        let body: Value = app.post_as("/o/token/", WEB_ID, WEB_SECRET, &form).await.json().await.unwrap();
        let access = str_of(&body, "access_token");
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let info: Value = app.http.request(method, app.url("/o/userinfo/")).bearer_auth(access).send().await.unwrap().json().await.unwrap();
            assert!(info["sub"].is_string() && info["sub"] != "ada@example.com", "{info}");
            assert!(info.get("email").is_none(), "no email scope, no email: {info}");
        }
        app.post_as("/o/revoke_token/", WEB_ID, WEB_SECRET, &[("token", access)]).await;
        let revoked = app.http.get(app.url("/o/userinfo/")).bearer_auth(access).send().await.unwrap();
        assert_oauth_error(revoked, 401, "invalid_token").await;
    }
}
