//! Account bodies: signup and password change (the tutorial's `/users/...` endpoints), and the resource
//! server's token proxies.

use serde::{Deserialize, Serialize};

/// `POST /users/signup/`. Fields are `Option` in Rust so that a missing one is reported per field, DRF-style;
/// the document says what a valid body holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct LoginRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", min_length = 1))]
    pub email: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", format = Password, min_length = 1))]
    pub password: Option<String>,
}

/// Resource server `POST /users/token/refresh/`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RefreshRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", min_length = 1))]
    pub refresh: Option<String>,
}
