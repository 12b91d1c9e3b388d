//! Test settings for the resource server.

#![allow(clippy::expect_used, reason = "test support: a failure here is a failed test")]

use crate::settings::Settings;

impl Settings {
    /// The built-in defaults (no file, no environment: a developer's exported `RESOURCE_SERVER__*` cannot
    /// change a test's outcome), on `database_url` and introspecting at `auth_base_url` as the tutorial's
    /// client, adjusted for tests: 127.0.0.1 port 0, two workers, a pool of 4, a 2 s introspection timeout, no per-IP rate limit.
    pub fn for_tests(database_url: &str, auth_base_url: &str) -> Self {
        let mut settings = Settings::unchecked_defaults().expect("the built-in defaults parse");
        settings.http.host = "127.0.0.1".into();
        settings.http.port = 0;
        settings.http.workers = 2;
        settings.database.url = database_url.into();
        settings.database.pool_size = 4;
        settings.auth.base_url = auth_base_url.into();
        settings.auth.client_id = "rs-id".into();
        settings.auth.client_secret = "rs-secret".into();
        settings.auth.timeout_ms = 2000;
        // Every test request comes from 127.0.0.1: the per-IP limit is off unless a test is about it.
        settings.rate_limit.enabled = false;
        settings
    }
}
