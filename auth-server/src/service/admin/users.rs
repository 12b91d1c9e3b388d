//! Users created by the operator, under the same rules as signup.

use shared_core::clock;
use shared_core::db::DbPool;
use shared_core::FieldErrors;

use super::{hash, AdminError};
use crate::db::users;
use crate::password::{email, validation};

/// Creates a user with the same rules as signup; returns the normalised email.
pub async fn create_user(
    pool: &DbPool,
    raw_email: &str,
    password: &str,
    bcrypt_cost: u32,
) -> Result<String, AdminError> {
    let normalized =
        email::normalize(raw_email).ok_or_else(|| AdminError::InvalidUser("Enter a valid email address.".into()))?;
    let mut errors = FieldErrors::new();
    validation::validate_new_password(password, password, &normalized, &mut errors);
    if !errors.is_empty() {
        return Err(AdminError::InvalidUser(errors.messages("password").join(" ")));
    }
    let password_hash = hash(password.to_owned(), bcrypt_cost).await?;
    let subject = uuid::Uuid::new_v4().to_string();
    let stored = normalized.clone();
    let created = pool
        .write(move |c| -> Result<bool, AdminError> {
            let at = clock::now();
            let user = users::NewUser {
                subject: &subject,
                email: &stored,
                email_key: &email::email_key(&stored),
                password_hash: &password_hash,
                created_at: at,
                password_changed_at: at,
            };
            Ok(users::insert(c, &user)?)
        })
        .await?;
    if !created {
        return Err(AdminError::InvalidUser("user with this email already exists.".into()));
    }
    Ok(normalized)
}
