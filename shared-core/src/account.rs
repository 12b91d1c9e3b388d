//! Account bodies: signup and password change (the tutorial's `/users/...` endpoints), and the resource
//! server's token proxies.

use serde::{Deserialize, Serialize};

/// `POST /users/signup/`. Fields are optional so that a missing one is reported per field, DRF-style.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct SignupRequest {
    pub email: Option<String>,
    pub password: Option<String>,
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
    pub old_password: Option<String>,
    pub password: Option<String>,
    pub password2: Option<String>,
}

/// Resource server `POST /users/token/`: the user's credentials; the client credentials are added server-side.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct LoginRequest {
    pub email: Option<String>,
    pub password: Option<String>,
}

/// Resource server `POST /users/token/refresh/`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RefreshRequest {
    pub refresh: Option<String>,
}
