use serde_json::{json, Value};

use crate::helpers::*;

async fn signup_errors(app: &TestApp, body: Value) -> Value {
    let response = app.http.post(app.url("/users/signup/")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 400, "body {body}");
    response.json().await.unwrap()
}

fn body(email: &str, password: &str, password2: &str) -> Value {
    json!({"email": email, "password": password, "password2": password2})
}

shared_core::on_both_backends! {
    async fn signup_answers_201_with_exactly_the_normalised_email(backend) {
        let app = spawn_app(backend).await;
        let response = app.signup("Jane.Doe@Example.COM", PASSWORD).await;
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        assert_eq!(created, json!({"email": "Jane.Doe@example.com"}));
    }

    async fn signup_accepts_a_form_body(backend) {
        let app = spawn_app(backend).await;
        let form = [("email", "form@example.com"), ("password", PASSWORD), ("password2", PASSWORD)];
        let response = app.post_form("/users/signup/", &form).await;
        assert_eq!(response.status(), 201);
    }

    async fn an_email_is_unique_whatever_its_case(backend) {
        let app = spawn_app(backend).await;
        assert_eq!(app.signup("sam@example.com", PASSWORD).await.status(), 201);
        let errors = signup_errors(&app, body("SAM@Example.com", PASSWORD, PASSWORD)).await;
        assert_eq!(errors, json!({"email": ["user with this email already exists."]}));
    }

    async fn weak_passwords_are_refused_with_djangos_messages(backend) {
        let app = spawn_app(backend).await;
        let errors = signup_errors(&app, body("a@example.com", "password123", "password123")).await;
        assert_eq!(errors, json!({"password": ["This password is too common."]}));
        let errors = signup_errors(&app, body("a@example.com", "short", "short")).await;
        assert!(errors["password"].as_array().unwrap().contains(&json!("This password is too short. It must contain at least 8 characters.")));
        let errors = signup_errors(&app, body("a@example.com", "9081726354", "9081726354")).await;
        assert!(errors["password"].as_array().unwrap().contains(&json!("This password is entirely numeric.")));
        let errors = signup_errors(&app, body("alexandra.smith@example.com", "alexandra.smith", "alexandra.smith")).await;
        assert!(errors["password"].as_array().unwrap().contains(&json!("The password is too similar to the email address.")));
    }

    async fn a_password_over_72_bytes_is_refused_not_truncated(backend) {
        let app = spawn_app(backend).await;
        let long = "horse-battery-staple-".repeat(4);
        let errors = signup_errors(&app, body("long@example.com", &long, &long)).await;
        assert_eq!(errors, json!({"password": ["Ensure this password has no more than 72 bytes."]}));
    }

    async fn mismatched_confirmation_and_bad_email_are_reported_per_field(backend) {
        let app = spawn_app(backend).await;
        let errors = signup_errors(&app, body("not-an-email", PASSWORD, "something-else-entirely")).await;
        assert_eq!(errors["email"], json!(["Enter a valid email address."]));
        assert_eq!(errors["password2"], json!(["Password fields didn't match."]));
    }

    async fn missing_and_blank_fields_are_reported(backend) {
        let app = spawn_app(backend).await;
        let errors = signup_errors(&app, json!({"email": ""})).await;
        assert_eq!(errors["email"], json!(["This field may not be blank."]));
        assert_eq!(errors["password"], json!(["This field is required."]));
        assert_eq!(errors["password2"], json!(["This field is required."]));
    }

    async fn malformed_unsupported_and_oversized_bodies_get_json_errors(backend) {
        let app = spawn_app(backend).await;
        let malformed = app.http.post(app.url("/users/signup/")).header("content-type", "application/json").body("{\"email\":").send().await.unwrap();
        assert_oauth_error(malformed, 400, "invalid_request").await;
        let wrong_type = app.http.post(app.url("/users/signup/")).header("content-type", "text/plain").body("hi").send().await.unwrap();
        assert_oauth_error(wrong_type, 415, "invalid_request").await;
        let huge = json!({"email": "x@example.com", "password": "a".repeat(70 * 1024), "password2": "a"});
        let too_large = app.http.post(app.url("/users/signup/")).json(&huge).send().await.unwrap();
        assert_oauth_error(too_large, 413, "invalid_request").await;
        let wrong_types = app.http.post(app.url("/users/signup/")).json(&json!({"email": 5})).send().await.unwrap();
        assert_oauth_error(wrong_types, 400, "invalid_request").await;
    }
}
