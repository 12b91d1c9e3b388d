//! Per-client-IP limits on credential checks (each a bcrypt, or its stand-in for an unknown client): 429
//! with `Retry-After`, counted by the address a trusted proxy forwards; and a flood of unknown client ids
//! costs no bcrypt thread, so legitimate logins go on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::browser::*;
use crate::helpers::*;

fn limited(burst: u32) -> impl FnOnce(&mut auth_server::Settings) {
    move |settings| {
        settings.rate_limit.enabled = true;
        settings.rate_limit.per_minute = 1;
        settings.rate_limit.burst = burst;
    }
}

async fn unknown_client(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app.http.post(app.url("/o/token/")).basic_auth("no-such-client", Some("guess"));
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    request.form(&[("grant_type", "client_credentials")]).send().await.unwrap()
}

shared_core::on_both_backends! {
    async fn credential_checks_over_the_limit_get_429_with_retry_after(backend) {
        let app = spawn_app_with(backend, limited(3)).await;
        // The tutorial client's secret is checked once (counted), then remembered (not counted again).
        app.client_credentials("read").await;
        assert_eq!(unknown_client(&app, None).await.status(), 401);
        assert_eq!(unknown_client(&app, None).await.status(), 401);

        let headers = assert_oauth_error(unknown_client(&app, None).await, 429, "slow_down").await;
        let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "one check a minute: {wait}");
        assert_eq!(app.signup("late@example.com", PASSWORD).await.status(), 429, "signup hashes: counted");
        let introspection = app.post_as("/o/introspect/", "no-such-client", "guess", &[("token", "x")]).await;
        assert_oauth_error(introspection, 429, "slow_down").await;

        // What needs no credential check goes on.
        app.client_credentials("read").await;
        assert_eq!(app.get("/health/live").await.status(), 200);
    }

    async fn the_login_page_answers_429_as_a_readable_page(backend) {
        let app = spawn_app_with(backend, limited(2)).await;
        app.web_client(web_profile()).await;
        assert_eq!(app.signup("page@example.com", PASSWORD).await.status(), 201);
        let browser = Browser::new();
        let start = app.url(&format!(
            "/o/authorize/?response_type=code&client_id={WEB_ID}&redirect_uri={WEB_REDIRECT}&scope=read&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        ));
        let login = browser.get(&start).await.text().await.unwrap();
        // The signup counted once; one more password check, then the limit.
        let action = app.url("/o/authorize/");
        let wrong = [("action", "login"), ("email", "page@example.com"), ("password", "wrong-password-1")];
        assert_eq!(browser.submit(&action, &login, &wrong).await.status(), 200, "the login page again");
        let refused = browser.submit(&action, &login, &wrong).await;
        assert_eq!(refused.status(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        assert!(refused.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(refused.text().await.unwrap().contains("Too many attempts"));
    }

    async fn forwarded_addresses_count_only_through_a_trusted_proxy(backend) {
        let trusting = spawn_app_with(backend, |settings| {
            limited(1)(settings);
            settings.http.trusted_proxies = vec!["127.0.0.1".into()];
        })
        .await;
        assert_eq!(unknown_client(&trusting, Some("203.0.113.1")).await.status(), 401);
        assert_eq!(unknown_client(&trusting, Some("203.0.113.1")).await.status(), 429);
        assert_eq!(unknown_client(&trusting, Some("203.0.113.2")).await.status(), 401, "another client");

        // Not a trusted proxy: the header is the sender's own claim, and the socket's address counts.
        let plain = spawn_app_with(backend, limited(1)).await;
        assert_eq!(unknown_client(&plain, Some("203.0.113.1")).await.status(), 401);
        assert_eq!(unknown_client(&plain, Some("203.0.113.2")).await.status(), 429);
    }

    async fn a_client_id_without_its_secret_takes_as_long_as_a_wrong_secret(backend) {
        // bcrypt cost 10: a real check takes tens of milliseconds, a refusal without one about one.
        let app = spawn_app_with(backend, |settings| settings.security.bcrypt_cost = 10).await;
        let form = [("grant_type", "client_credentials"), ("client_id", RS_ID)];
        let timed = |form: Vec<(&'static str, &'static str)>| {
            let (http, url) = (app.http.clone(), app.url("/o/token/"));
            async move {
                let started = std::time::Instant::now();
                let status = http.post(url).form(&form).send().await.unwrap().status();
                (status.as_u16(), started.elapsed())
            }
        };
        let (status, wrong) = timed(vec![form[0], form[1], ("client_secret", "not-the-secret")]).await;
        assert_eq!(status, 401);
        for answer in [timed(form.to_vec()).await, timed(vec![form[0], ("client_id", "no-such-client")]).await] {
            assert_eq!(answer.0, 401);
            // Never shorter than a real check (the stand-in waits the measured average), whatever else the
            // machine does; the wrong secret's own time is printed for comparison.
            assert!(answer.1 >= Duration::from_millis(20), "{:?} (a wrong secret took {wrong:?})", answer.1);
        }
    }

    async fn a_flood_of_unknown_client_ids_leaves_legitimate_logins_working(backend) {
        // One bcrypt thread and room for 4 waiting jobs: were unknown ids hashed, 64 of them at once would
        // fill the queue and every login would get 503.
        let app = spawn_app_with(backend, |settings| {
            settings.security.hasher_threads = 1;
            settings.security.hasher_queue = 4;
        })
        .await;
        let address = "steady@example.com";
        assert_eq!(app.signup(address, PASSWORD).await.status(), 201);

        let stop = Arc::new(AtomicBool::new(false));
        let (refused, other) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let url = app.url("/o/token/");
        let flood: Vec<_> = (0..64)
            .map(|n| {
                let (stop, refused, other, url) = (stop.clone(), refused.clone(), other.clone(), url.clone());
                tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    let client_id = format!("flood-{n}");
                    while !stop.load(Ordering::Relaxed) {
                        let form = [("grant_type", "password"), ("username", "x@example.com"), ("password", "guess-guess"), ("client_id", client_id.as_str()), ("client_secret", "guess")];
                        match http.post(&url).form(&form).send().await.map(|r| r.status().as_u16()) {
                            Ok(401) => refused.fetch_add(1, Ordering::Relaxed),
                            _ => other.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        while refused.load(Ordering::Relaxed) < 64 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        for _ in 0..5 {
            let form = [("grant_type", "password"), ("username", address), ("password", PASSWORD)];
            let response = http.post(&url).basic_auth(RS_ID, Some(RS_SECRET)).form(&form).send().await;
            let status = response.expect("answered within 10 s (a bounded wait)").status();
            assert_eq!(status, 200, "a legitimate login during the flood");
        }
        stop.store(true, Ordering::Relaxed);
        for task in flood {
            task.await.unwrap();
        }
        assert_eq!(other.load(Ordering::Relaxed), 0, "every flood request got 401, none 503");
    }
}
