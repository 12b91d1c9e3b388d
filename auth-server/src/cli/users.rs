//! `user ...` and `token revoke`: accounts and the tokens they hold.

use std::fmt::Write as _;

use serde_json::json;
use shared_core::db::DbPool;

use super::output::{when, Output};
use super::{audit_admin, UserCommand};
use crate::audit::{self, Event};
use crate::service::admin::{self, UserDetails, UserState, UserSummary};
use crate::settings::Settings;
use crate::startup::StartupError;

pub(super) async fn user_command(
    pool: &DbPool,
    command: UserCommand,
    out: Output,
    settings: &Settings,
) -> Result<(), StartupError> {
    let cost = settings.security.bcrypt_cost;
    match command {
        UserCommand::Create { email, password } => {
            let password = password_or_prompt(password)?;
            let email = admin::create_user(pool, &email, &password, cost).await?;
            audit_admin("user create", &email);
            out.show(&json!({ "email": email, "created": true }), |_| format!("created user {email}\n"))
        }
        UserCommand::List { email_like } => {
            let users = admin::list_users(pool, email_like.as_deref()).await?;
            out.show(&users, |users| users.iter().map(|user| summary_line(user) + "\n").collect())
        }
        UserCommand::Show { email } => out.show(&admin::show_user(pool, &email).await?, details_text),
        UserCommand::Unlock { email } => {
            let (subject, was_locked) = admin::unlock_user(pool, &email).await?;
            if was_locked {
                audit::emit(Event::AccountUnlocked { user: &subject, email: &email, by: "admin_cli" });
            }
            let shown = json!({ "email": email, "subject": subject, "unlocked": was_locked });
            out.show(&shown, |_| if was_locked { "unlocked\n" } else { "not locked: nothing to do\n" }.to_owned())
        }
        UserCommand::RevokeTokens { email } => {
            let subject = admin::revoke_user_tokens(pool, &email).await?;
            audit_admin("user revoke-tokens", &email);
            let shown = json!({ "email": email, "subject": subject, "revoked": true });
            out.show(&shown, |_| format!("revoked every token and session of {email}\n"))
        }
        UserCommand::Disable { email } => {
            let (subject, changed) = admin::disable_user(pool, &email).await?;
            if changed {
                audit_admin("user disable", &email);
            }
            let shown = json!({ "email": email, "subject": subject, "disabled": true, "changed": changed });
            out.show(&shown, |_| {
                if changed {
                    format!("disabled {email}; its tokens, sessions and codes ended\n")
                } else {
                    format!("{email} was already disabled: nothing to do\n")
                }
            })
        }
        UserCommand::Enable { email } => {
            let (subject, changed) = admin::enable_user(pool, &email).await?;
            if changed {
                audit_admin("user enable", &email);
            }
            let shown = json!({ "email": email, "subject": subject, "disabled": false, "changed": changed });
            out.show(&shown, |_| {
                if changed {
                    format!("enabled {email}\n")
                } else {
                    format!("{email} was not disabled: nothing to do\n")
                }
            })
        }
        UserCommand::Delete { email } => {
            let subject = admin::delete_user(pool, &email).await?;
            audit_admin("user delete", &email);
            let shown = json!({ "email": email, "subject": subject, "deleted": true });
            out.show(&shown, |_| format!("deleted {email} (subject {subject}) after ending its tokens\n"))
        }
        UserCommand::SetPassword { email, password } => {
            let password = password_or_prompt(password)?;
            let subject = admin::set_password(pool, &email, &password, cost).await?;
            audit_admin("user set-password", &email);
            let shown = json!({ "email": email, "subject": subject, "password_set": true });
            out.show(&shown, |_| format!("password of {email} set; its tokens and sessions ended\n"))
        }
    }
}

/// `token revoke`. The audit line names the token's kind and client, never the token.
pub(super) async fn revoke_token(pool: &DbPool, token: &str, out: Output) -> Result<(), StartupError> {
    let revoked = admin::revoke_token(pool, token).await?;
    audit_admin("token revoke", &format!("{} of client {}", revoked.kind, revoked.client_id));
    out.show(&revoked, |r| {
        let before = if r.was_live { "" } else { " (it was revoked already)" };
        format!("revoked the {} of client {}{before}\n", r.kind, r.client_id)
    })
}

/// The password given, or one typed twice on the terminal.
fn password_or_prompt(password: Option<String>) -> Result<String, StartupError> {
    if let Some(password) = password {
        return Ok(password);
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Password (again): ")?;
    if first != again {
        return Err("passwords do not match".into());
    }
    Ok(first)
}

fn state_text(state: UserState) -> String {
    match state {
        UserState::Active => "active".to_owned(),
        UserState::Disabled { disabled_at } => format!("disabled since {}", when(disabled_at)),
        UserState::Locked { locked_until } => format!("locked until {}", when(locked_until)),
    }
}

fn summary_line(user: &UserSummary) -> String {
    format!("{}  {}  created {}  {}", user.email, user.subject, when(user.created_at), state_text(user.state))
}

fn details_text(user: &UserDetails) -> String {
    let summary = &user.summary;
    let mut text = String::new();
    let _ = writeln!(text, "email: {}", summary.email);
    let _ = writeln!(text, "subject: {}", summary.subject);
    let _ = writeln!(text, "created: {}", when(summary.created_at));
    let _ = writeln!(text, "password_changed: {}", when(user.password_changed_at));
    let _ = writeln!(text, "state: {}", state_text(summary.state));
    let _ = writeln!(text, "failed_logins: {}", user.failed_logins);
    let _ = writeln!(text, "live_tokens: {} access, {} refresh", user.live_access_tokens, user.live_refresh_tokens);
    text
}
