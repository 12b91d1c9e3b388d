//! The auth server's audit events (see `shared_core::audit` for the line format): who signed in or failed
//! to, what was issued and ended, lockouts, admin actions, rate-limit refusals. Never a password, a secret
//! or a token: users are named by their subject and email, clients by their id.

use serde::Serialize;

/// How someone tried to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The token endpoint's password grant (RFC 6749 §4.3).
    PasswordGrant,
    /// The browser login page.
    LoginPage,
    /// The old password of a password change.
    PasswordChange,
}

/// Why a sign-in failed (for the operator; the caller hears only "invalid credentials").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    UnknownUser,
    WrongPassword,
    Locked,
    Disabled,
}

#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    LoginSucceeded {
        method: Method,
        client_id: Option<&'a str>,
        user: &'a str,
        email: &'a str,
    },
    LoginFailed {
        method: Method,
        client_id: Option<&'a str>,
        /// `None` when no account has that email: the name typed is not recorded (it is sometimes a password).
        user: Option<&'a str>,
        email: Option<&'a str>,
        reason: Failure,
    },
    ClientAuthFailed {
        client_id: &'a str,
    },
    TokenIssued {
        grant: &'a str,
        client_id: &'a str,
        user: Option<&'a str>,
        scope: &'a str,
    },
    RefreshReuseDetected {
        client_id: &'a str,
        user: Option<&'a str>,
    },
    TokenRevoked {
        client_id: &'a str,
        /// What the revocation ended: `access_token`, or `refresh_token` (with the family's access tokens).
        kind: &'a str,
    },
    PasswordChanged {
        user: &'a str,
        email: &'a str,
    },
    AccountLocked {
        user: &'a str,
        email: &'a str,
        /// Epoch seconds.
        until: i64,
        /// Locks in a row, this one included.
        lockouts: i64,
    },
    AccountUnlocked {
        user: &'a str,
        email: &'a str,
        by: &'a str,
    },
    /// An admin CLI command that changed something.
    AdminAction {
        command: &'a str,
        target: &'a str,
    },
    /// Sampled: one a second at most, with how many were not written since the last one.
    RateLimited {
        limit: &'a str,
        held_back: u64,
    },
}

pub fn emit(event: Event<'_>) {
    shared_core::audit::emit(&event);
}
