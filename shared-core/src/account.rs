//! Account bodies: signup and password change (the tutorial's `/users/...` endpoints), and the resource
//! server's token proxies.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::oauth::redacted;

/// `POST /users/signup/`. Fields are `Option` in Rust so that a missing one is reported per field, DRF-style;
/// the document says what a valid body holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct SignupRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", format = Email, min_length = 1, max_length = 254, example = "jane@example.com"))]
    pub email: Option<String>,
    /// At least 8 characters, at most 72 bytes (bcrypt's limit), not entirely numeric, not a common password,
    /// not too similar to the email.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", format = Password, min_length = 8, max_length = 72))]
    pub password: Option<String>,
    /// The same again.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", format = Password, min_length = 8, max_length = 72))]
    pub password2: Option<String>,
}

/// 201 answer to a signup: exactly the tutorial's body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct SignupResponse {
    pub email: String,
}

/// `PUT /users/password/`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct PasswordChangeRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", format = Password, min_length = 1))]
    pub old_password: Option<String>,
    /// The new password, under the same rules as at signup.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", format = Password, min_length = 8, max_length = 72))]
    pub password: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", format = Password, min_length = 8, max_length = 72))]
    pub password2: Option<String>,
}

/// Resource server `POST /users/token/`: the user's credentials; the client credentials are added server-side.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct LoginRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", min_length = 1))]
    pub email: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", format = Password, min_length = 1))]
    pub password: Option<String>,
}

/// Resource server `POST /users/token/refresh/`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct RefreshRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", min_length = 1))]
    pub refresh: Option<String>,
}

// Bodies holding a password or a token show only whether it was sent (a `{:?}` in a log line must not leak
// it).

impl fmt::Debug for SignupRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignupRequest")
            .field("email", &self.email)
            .field("password", &redacted(&self.password))
            .field("password2", &redacted(&self.password2))
            .finish()
    }
}

impl fmt::Debug for PasswordChangeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordChangeRequest")
            .field("old_password", &redacted(&self.old_password))
            .field("password", &redacted(&self.password))
            .field("password2", &redacted(&self.password2))
            .finish()
    }
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest").field("email", &self.email).field("password", &redacted(&self.password)).finish()
    }
}

impl fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRequest").field("refresh", &redacted(&self.refresh)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_password_or_a_token() {
        let secret = "hunter2-correct-horse".to_owned();
        let shown = [
            format!(
                "{:?}",
                SignupRequest {
                    email: Some("a@b.c".into()),
                    password: Some(secret.clone()),
                    password2: Some(secret.clone())
                }
            ),
            format!(
                "{:?}",
                PasswordChangeRequest {
                    old_password: Some(secret.clone()),
                    password: Some(secret.clone()),
                    password2: Some(secret.clone())
                }
            ),
            format!("{:?}", LoginRequest { email: Some("a@b.c".into()), password: Some(secret.clone()) }),
            format!("{:?}", RefreshRequest { refresh: Some(secret.clone()) }),
            format!(
                "{:?}",
                crate::oauth::TokenRequest {
                    password: Some(secret.clone()),
                    client_secret: Some(secret.clone()),
                    refresh_token: Some(secret.clone()),
                    code: Some(secret.clone()),
                    code_verifier: Some(secret.clone()),
                    ..Default::default()
                }
            ),
            format!(
                "{:?}",
                crate::oauth::TokenParameters {
                    token: Some(secret.clone()),
                    client_secret: Some(secret.clone()),
                    ..Default::default()
                }
            ),
            format!(
                "{:?}",
                crate::oauth::TokenResponse {
                    access_token: secret.clone(),
                    token_type: "Bearer".into(),
                    expires_in: 1,
                    scope: "read".into(),
                    refresh_token: Some(secret.clone()),
                    id_token: Some(secret.clone()),
                }
            ),
        ];
        for text in shown {
            assert!(!text.contains("hunter2") && text.contains("<redacted>"), "{text}");
        }
    }
}
