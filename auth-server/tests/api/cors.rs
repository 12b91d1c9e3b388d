//! CORS on the endpoints browser apps call: only origins a client registered, no credentials, preflights
//! answered, refusals in the JSON error shape.

use crate::browser::*;
use crate::helpers::*;

const ALLOWED: &str = "http://127.0.0.1:8080";

shared_core::on_both_backends! {
    async fn a_registered_origin_gets_cors_answers_and_others_do_not(backend) {
        let app = spawn_app(backend).await;
        let mut profile = web_profile();
        profile.allowed_origins = vec![ALLOWED.into()];
        app.web_client(profile).await;
        // Registered after start: picked up by the periodic reload, or at once by a restart. This test
        // starts a second server on the same database to see it at start-up.
        let app = TestApp { server: auth_server::testing::TestAuthServer::start(app.settings.clone()).await, ..app };

        for (method, path) in [("POST", "/o/token/"), ("GET", "/o/userinfo/"), ("GET", "/o/jwks/"), ("GET", "/.well-known/openid-configuration"), ("POST", "/o/introspect/"), ("POST", "/o/revoke_token/")] {
            let preflight = app.http.request(reqwest::Method::OPTIONS, app.url(path))
                .header("origin", ALLOWED)
                .header("access-control-request-method", method)
                .header("access-control-request-headers", "authorization, content-type, x-request-id")
                .send().await.unwrap();
            assert_eq!(preflight.status(), 200, "{path}");
            let headers = preflight.headers();
            assert_eq!(headers["access-control-allow-origin"], ALLOWED, "{path}");
            assert!(headers.get("access-control-allow-credentials").is_none(), "{path}: never credentials");
            assert!(headers["access-control-allow-methods"].to_str().unwrap().contains(method), "{path}");

            let refused = app.http.request(reqwest::Method::OPTIONS, app.url(path))
                .header("origin", "https://evil.example")
                .header("access-control-request-method", method)
                .send().await.unwrap();
            assert!(refused.headers().get("access-control-allow-origin").is_none(), "{path}");
            assert_oauth_error(refused, 400, "invalid_request").await;
        }
        let jwks = app.http.get(app.url("/o/jwks/")).header("origin", ALLOWED).send().await.unwrap();
        assert_eq!(jwks.headers()["access-control-allow-origin"], ALLOWED);
        let exposed = jwks.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
        assert!(exposed.contains("x-request-id"), "a page can read the request id: {exposed}");
        let other = app.http.get(app.url("/o/jwks/")).header("origin", "https://evil.example").send().await.unwrap();
        assert!(other.headers().get("access-control-allow-origin").is_none());
        assert_eq!(other.status(), 200, "a request without CORS approval is still answered; the browser keeps it from the page");
        let login_page = app.http.get(app.url("/o/authorize/")).header("origin", ALLOWED).send().await.unwrap();
        assert!(login_page.headers().get("access-control-allow-origin").is_none(), "the pages are not CORS endpoints");
    }
}
