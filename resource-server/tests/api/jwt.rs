//! JWT access tokens (RFC 9068) verified by the resource server itself, with the auth server's JWKS: no
//! introspection, and every way of forging or stretching a token refused.

use auth_server::service::registration::AccessTokenFormat;
use auth_server::settings::BootstrapResource;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use shared_core::testing::TestDatabase;

use crate::helpers::*;

struct JwtSystem {
    auth: TestAuthServer,
    rs: TestResourceServer,
    http: reqwest::Client,
    _dbs: (TestDatabase, TestDatabase),
}

/// The tutorial's client issuing JWTs; `rs_audience` is the resource server's `auth.audience`.
async fn jwt_system(backend: Backend, default_audience: &str, rs_audience: &str) -> JwtSystem {
    system_with(backend, AccessTokenFormat::Jwt, default_audience, rs_audience).await
}

async fn system_with(
    backend: Backend,
    format: AccessTokenFormat,
    default_audience: &str,
    rs_audience: &str,
) -> JwtSystem {
    let (auth_db, rs_db) = (TestDatabase::create(backend, "auth"), TestDatabase::create(backend, "rs"));
    let mut settings = auth_server::Settings::for_tests(&auth_db.url);
    settings.tokens.default_audience = default_audience.into();
    let api = BootstrapResource { identifier: API.into(), name: None, scopes: vec!["read".into(), "write".into()] };
    settings.resources.insert("api".into(), api);
    settings.clients.get_mut("tutorial").unwrap().access_token_format = format;
    let auth = TestAuthServer::start(settings).await;
    let mut rs_settings = rs_settings(&rs_db.url, &auth.address);
    rs_settings.auth.audience = rs_audience.into();
    rs_settings.auth.jwks_refetch_secs = 0;
    let rs = TestResourceServer::start(rs_settings).await;
    JwtSystem { auth, rs, http: reqwest::Client::new(), _dbs: (auth_db, rs_db) }
}

impl JwtSystem {
    async fn token(&self, form: &[(&str, &str)]) -> String {
        token_from(&self.http, &self.auth, form).await
    }

    /// A user's JWT through the resource server's own proxies.
    async fn user_token(&self, email: &str) -> String {
        let signup = json!({"email": email, "password": PASSWORD, "password2": PASSWORD});
        assert_eq!(self.http.post(self.rs.url("/users/signup/")).json(&signup).send().await.unwrap().status(), 201);
        let login = self
            .http
            .post(self.rs.url("/users/token/"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
    }

    async fn items(&self, token: &str) -> reqwest::Response {
        self.http.get(self.rs.url("/items/")).bearer_auth(token).send().await.unwrap()
    }

    /// Signs `claims` with the auth server's current private key, as the auth server would.
    async fn signed_by_the_auth_server(&self, header: Header, claims: &Value) -> String {
        let rows = self
            .auth
            .pool
            .read(|c| Ok::<_, shared_core::db::BlockingError>(auth_server::db::keys::list(c).unwrap()))
            .await
            .unwrap();
        let current = rows.iter().find(|row| row.superseded_at.is_none()).unwrap();
        let header = Header { kid: Some(current.kid.clone()), ..header };
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(current.private_key_pem.as_bytes()).unwrap())
            .unwrap()
    }

    fn claims(&self, lifetime: i64) -> Value {
        let now = shared_core::clock::now();
        json!({"iss": self.auth.address, "sub": "someone", "aud": self.auth.address, "iat": now, "exp": now + lifetime,
               "jti": "j", "client_id": "rs-id", "scope": "read write"})
    }
}

/// A resource registered at the auth server of every system here.
const API: &str = "https://items.example.com";

fn at_jwt(alg: Algorithm) -> Header {
    Header { typ: Some("at+jwt".into()), ..Header::new(alg) }
}

shared_core::on_both_backends! {
    async fn a_jwt_access_token_is_verified_locally_without_introspection(backend) {
        let system = jwt_system(backend, "", "").await;
        let token = system.user_token("jwt@example.com").await;
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().typ.as_deref(), Some("at+jwt"));
        assert_eq!(system.items(&token).await.status(), 200);
        let created = system.http.post(system.rs.url("/items/")).bearer_auth(&token).json(&json!({"name": "n", "description": "d", "price": "1.00"})).send().await.unwrap();
        assert_eq!(created.status(), 201);
        let owner = created.json::<Value>().await.unwrap()["user"]["email"].as_str().unwrap().to_owned();
        let sub = jsonwebtoken::dangerous::insecure_decode::<Value>(&token).unwrap().claims["sub"].as_str().unwrap().to_owned();
        assert_eq!(owner, sub, "a JWT names its user by sub only");

        let read_only = system.token(&[("grant_type", "password"), ("username", "jwt@example.com"), ("password", PASSWORD), ("scope", "read")]).await;
        let refused = system.http.post(system.rs.url("/items/")).bearer_auth(&read_only).json(&json!({"name": "m", "description": "d", "price": "1.00"})).send().await.unwrap();
        assert_error(refused, 403, "insufficient_scope").await;
        let machine = system.token(&[("grant_type", "client_credentials"), ("scope", "read")]).await;
        assert_error(system.items(&machine).await, 403, "insufficient_scope").await;
        assert_eq!(system.auth.introspections(), 0, "every JWT was checked locally");
    }

    async fn forged_altered_expired_and_foreign_jwts_are_refused(backend) {
        let system = jwt_system(backend, "", "").await;
        let genuine = system.token(&[("grant_type", "client_credentials"), ("scope", "read")]).await;
        assert_eq!(system.items(&genuine).await.status(), 403, "genuine (a client's token: no user)");

        let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
        let mut claims = jsonwebtoken::dangerous::insecure_decode::<Value>(&genuine).unwrap().claims;
        claims["sub"] = json!("someone-else");
        parts[1] = base64_url(&claims.to_string());
        let tampered = parts.join(".");
        let none = format!("{}.{}.", base64_url(r#"{"alg":"none","typ":"at+jwt"}"#), parts[1]);
        let jwks: Value = system.http.get(system.auth.url("/o/jwks/")).send().await.unwrap().json().await.unwrap();
        let public_key = jwks["keys"][0].to_string();
        let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
        let hmac = jsonwebtoken::encode(&Header { kid: Some(kid), ..at_jwt(Algorithm::HS256) }, &system.claims(60), &EncodingKey::from_secret(public_key.as_bytes())).unwrap();
        let expired = system.signed_by_the_auth_server(at_jwt(Algorithm::RS256), &system.claims(-60)).await;
        let mut foreign_claims = system.claims(60);
        foreign_claims["iss"] = json!("https://elsewhere.example");
        let foreign = system.signed_by_the_auth_server(at_jwt(Algorithm::RS256), &foreign_claims).await;
        let unknown_kid = jsonwebtoken::encode(&Header { kid: Some("nope".into()), ..at_jwt(Algorithm::RS256) }, &system.claims(60),
            &EncodingKey::from_rsa_pem(auth_server::service::keys::generate().unwrap().private_key_pem.as_bytes()).unwrap()).unwrap();
        let valid = system.signed_by_the_auth_server(at_jwt(Algorithm::RS256), &system.claims(60)).await;
        assert_eq!(system.items(&valid).await.status(), 200, "the forging kit itself makes valid tokens");

        for (what, token) in [("tampered", tampered), ("alg none", none), ("HS256 with the public key", hmac),
                              ("expired", expired), ("another issuer", foreign), ("an unknown kid", unknown_kid)] {
            let headers = assert_error(system.items(&token).await, 401, "invalid_token").await;
            assert!(headers["www-authenticate"].to_str().unwrap().contains("invalid_token"), "{what}");
        }
    }

    async fn a_key_rotation_is_picked_up_by_a_running_resource_server(backend) {
        let system = jwt_system(backend, "", "").await;
        let before = system.user_token("rot@example.com").await;
        assert_eq!(system.items(&before).await.status(), 200);
        let now = shared_core::clock::now();
        let new_kid = auth_server::service::keys::rotate(&system.auth.pool, now).await.unwrap();
        system.auth.keys.reload(&system.auth.pool, now).await.unwrap();
        let after = system.token(&[("grant_type", "password"), ("username", "rot@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(jsonwebtoken::decode_header(&after).unwrap().kid.unwrap(), new_kid);
        assert_eq!(system.items(&after).await.status(), 200, "the new kid made the resource server fetch the JWKS again");
        assert_eq!(system.items(&before).await.status(), 200, "the superseded key stays published");
        assert_eq!(system.auth.introspections(), 0);
    }

    async fn the_proxies_ask_for_tokens_for_this_resource_server_and_others_are_refused(backend) {
        for format in [AccessTokenFormat::Jwt, AccessTokenFormat::Opaque] {
            let system = system_with(backend, format, "", API).await;
            // The login proxy sends resource=auth.audience: the token is for this API.
            let token = system.user_token("rfc8707@example.com").await;
            assert_eq!(system.items(&token).await.status(), 200, "{format:?}");
            let elsewhere = system.token(&[("grant_type", "password"), ("username", "rfc8707@example.com"), ("password", PASSWORD)]).await;
            assert_error(system.items(&elsewhere).await, 401, "invalid_token").await;
        }
    }

    async fn a_token_for_another_audience_is_refused_whichever_way_it_is_validated(backend) {
        for format in [AccessTokenFormat::Jwt, AccessTokenFormat::Opaque] {
            // Tokens asked for without a resource are for the default audience, here API.
            let ours = system_with(backend, format, API, API).await;
            assert_eq!(ours.items(&ours.user_token("aud@example.com").await).await.status(), 200, "{format:?}");
            let other = system_with(backend, format, API, "https://billing.example.com").await;
            let signup = json!({"email": "aud@example.com", "password": PASSWORD, "password2": PASSWORD});
            assert_eq!(other.http.post(other.auth.url("/users/signup/")).json(&signup).send().await.unwrap().status(), 201);
            let token = other.token(&[("grant_type", "password"), ("username", "aud@example.com"), ("password", PASSWORD)]).await;
            assert_error(other.items(&token).await, 401, "invalid_token").await;
            let introspections = other.auth.introspections();
            assert_eq!(introspections, u64::from(format == AccessTokenFormat::Opaque), "{format:?}");
        }
    }
}

fn base64_url(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
