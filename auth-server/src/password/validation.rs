//! New-password rules: Django's four default validators (minimum length, similarity to the email, common
//! passwords, entirely numeric), bcrypt's 72-byte limit (refused, never silently truncated) and the
//! confirmation field. Messages are Django's, so the tutorial's clients show the same text.

use std::collections::HashSet;
use std::sync::OnceLock;

use shared_core::FieldErrors;

pub const MIN_LENGTH: usize = 8;
/// bcrypt only reads the first 72 bytes of a password.
pub const MAX_BYTES: usize = 72;
const MAX_SIMILARITY: f64 = 0.7;

pub const TOO_SHORT: &str = "This password is too short. It must contain at least 8 characters.";
pub const TOO_LONG: &str = "Ensure this password has no more than 72 bytes.";
pub const TOO_SIMILAR: &str = "The password is too similar to the email address.";
pub const TOO_COMMON: &str = "This password is too common.";
pub const ENTIRELY_NUMERIC: &str = "This password is entirely numeric.";
pub const MISMATCH: &str = "Password fields didn't match.";

/// Django's list of 20 000 common passwords (`django/contrib/auth/common-passwords.txt.gz`, lower-cased).
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| include_str!("../../assets/common-passwords.txt").lines().map(str::trim).collect())
}

/// Checks `password` (and `password2` when given) for an account with `email`; adds errors under
/// `password` / `password2` as DRF would.
pub fn validate_new_password(password: &str, password2: &str, email: &str, errors: &mut FieldErrors) {
    if password.chars().count() < MIN_LENGTH {
        errors.add("password", TOO_SHORT);
    }
    if password.len() > MAX_BYTES {
        errors.add("password", TOO_LONG);
    }
    if is_too_similar(password, email) {
        errors.add("password", TOO_SIMILAR);
    }
    if common_passwords().contains(password.trim().to_lowercase().as_str()) {
        errors.add("password", TOO_COMMON);
    }
    if !password.is_empty() && password.chars().all(|c| c.is_numeric()) {
        errors.add("password", ENTIRELY_NUMERIC);
    }
    if password != password2 {
        errors.add("password2", MISMATCH);
    }
}

/// Django's `UserAttributeSimilarityValidator` on the email: the whole address and each of its `\W+`-split
/// parts are compared with `SequenceMatcher.quick_ratio`.
fn is_too_similar(password: &str, email: &str) -> bool {
    let password = password.to_lowercase();
    let email = email.to_lowercase();
    let parts = std::iter::once(email.as_str())
        .chain(email.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|p| !p.is_empty()));
    for part in parts {
        if exceeds_maximum_length_ratio(&password, part) {
            continue;
        }
        if quick_ratio(&password, part) >= MAX_SIMILARITY {
            return true;
        }
    }
    false
}

/// Django skips parts far shorter than the password: they cannot make it similar.
fn exceeds_maximum_length_ratio(password: &str, value: &str) -> bool {
    let password_len = password.chars().count() as f64;
    let value_len = value.chars().count() as f64;
    password_len >= 10.0 * value_len && value_len < MAX_SIMILARITY / 2.0 * password_len
}

/// `difflib.SequenceMatcher(a=a, b=b).quick_ratio()`: twice the multiset intersection of characters over
/// the total length.
fn quick_ratio(a: &str, b: &str) -> f64 {
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut available = std::collections::HashMap::<char, usize>::new();
    for c in b.chars() {
        *available.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a.chars() {
        if let Some(n) = available.get_mut(&c).filter(|n| **n > 0) {
            *n -= 1;
            matches += 1;
        }
    }
    2.0 * matches as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_for(password: &str, email: &str) -> FieldErrors {
        let mut errors = FieldErrors::new();
        validate_new_password(password, password, email, &mut errors);
        errors
    }

    #[test]
    fn a_good_password_passes() {
        assert!(errors_for("correct horse battery", "jane@example.com").is_empty());
    }

    #[test]
    fn common_short_numeric_and_long_passwords_are_refused() {
        assert_eq!(errors_for("password123", "jane@example.com").messages("password"), [TOO_COMMON]);
        assert!(errors_for("PassWord123", "jane@example.com").messages("password").contains(&TOO_COMMON.to_owned()));
        assert!(errors_for("short", "jane@example.com").messages("password").contains(&TOO_SHORT.to_owned()));
        assert!(errors_for("83749201563", "jane@example.com")
            .messages("password")
            .contains(&ENTIRELY_NUMERIC.to_owned()));
        let long = "a-very-long-passphrase-".repeat(4);
        assert_eq!(errors_for(&long, "jane@example.com").messages("password"), [TOO_LONG]);
        // 72 bytes of multi-byte characters are 24 characters: the byte count is what bcrypt sees.
        assert_eq!(errors_for(&"€".repeat(25), "jane@example.com").messages("password"), [TOO_LONG]);
        assert!(errors_for(&"€".repeat(24), "jane@example.com").is_empty());
    }

    #[test]
    fn a_password_like_the_email_is_refused() {
        let errors = errors_for("johnathan.doe", "johnathan.doe@example.com");
        assert!(errors.messages("password").contains(&TOO_SIMILAR.to_owned()));
        assert!(!errors_for("unrelated-phrase-here", "johnathan.doe@example.com").has("password"));
    }

    #[test]
    fn confirmation_must_match() {
        let mut errors = FieldErrors::new();
        validate_new_password("correct horse battery", "correct horse batterY", "jane@example.com", &mut errors);
        assert_eq!(errors.messages("password2"), [MISMATCH]);
        assert!(!errors.has("password"));
    }

    #[test]
    fn quick_ratio_matches_python() {
        // difflib.SequenceMatcher(a="abcd", b="bcde").quick_ratio() == 0.75
        assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert_eq!(quick_ratio("abc", "xyz"), 0.0);
    }
}
