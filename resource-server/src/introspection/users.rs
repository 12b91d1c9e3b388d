//! How the users tokens act for become rows of the local `users` table (the owners of items).

use shared_core::clock;
use shared_core::oauth::IntrospectionResponse;

use super::{Inner, LocalUser};
use crate::db;
use crate::error::Error;

impl Inner {
    /// The local user with this `sub`, created on first sight (shown as the `sub`: a JWT carries no
    /// username). One indexed read; a write only the first time.
    pub(super) async fn user_named_by_sub(&self, subject: &str) -> Result<LocalUser, Error> {
        if let Some(user) = self.users_by_sub.get(subject).await {
            return Ok(user);
        }
        let key = subject.to_owned();
        let user = match db::read(&self.pool, move |c| Ok(db::users::find(c, &key)?)).await? {
            Some((id, email)) => LocalUser { id, email },
            None => {
                let key = subject.to_owned();
                let (id, email) =
                    db::write(&self.pool, move |c| Ok(db::users::insert_if_absent(c, &key, clock::now())?)).await?;
                LocalUser { id, email }
            }
        };
        self.users_by_sub.insert(subject.to_owned(), user.clone()).await;
        Ok(user)
    }
}

/// How an introspection answer's user is kept in the local `users` table.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct MirroredUser {
    /// The row's `subject`: the answer's `sub`; without one (Django OAuth Toolkit answers `username` only),
    /// `iss` + `#` + `username`, with the configured issuer when the answer has no `iss`.
    pub key: String,
    /// What the items API shows as the owner: `username` (this project's: the email), else the `sub`.
    pub name: String,
}

/// The user a token acts for; `None` for a token that names nobody (client_credentials).
pub(super) fn mirrored_user(answer: &IntrospectionResponse, default_issuer: &str) -> Option<MirroredUser> {
    match (&answer.sub, &answer.username) {
        (Some(sub), username) => {
            Some(MirroredUser { key: sub.clone(), name: username.clone().unwrap_or_else(|| sub.clone()) })
        }
        (None, Some(username)) => {
            let issuer = answer.iss.as_deref().unwrap_or(default_issuer);
            Some(MirroredUser { key: format!("{issuer}#{username}"), name: username.clone() })
        }
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(sub: Option<&str>, username: Option<&str>, iss: Option<&str>) -> IntrospectionResponse {
        IntrospectionResponse {
            active: true,
            sub: sub.map(str::to_owned),
            username: username.map(str::to_owned),
            iss: iss.map(str::to_owned),
            ..IntrospectionResponse::default()
        }
    }

    #[test]
    fn a_user_is_keyed_by_sub_else_by_issuer_and_username() {
        let user = |sub, username, iss| mirrored_user(&answer(sub, username, iss), "http://as");
        let named = |key: &str, name: &str| Some(MirroredUser { key: key.into(), name: name.into() });
        assert_eq!(user(Some("u-1"), Some("a@example.com"), None), named("u-1", "a@example.com"));
        assert_eq!(user(Some("u-1"), None, None), named("u-1", "u-1"));
        assert_eq!(user(None, Some("alice"), None), named("http://as#alice", "alice"));
        assert_eq!(user(None, Some("alice"), Some("http://other")), named("http://other#alice", "alice"));
        assert_eq!(user(None, None, Some("http://as")), None);
    }
}
