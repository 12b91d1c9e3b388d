//! Validation errors in Django REST Framework's shape: `{"field": ["message", ...]}`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Field name -> messages, serialised exactly as DRF does so the tutorial's clients can read it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", schema(example = json!({"password2": ["Password fields didn't match."]})))]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_owned()).or_default().push(message.into());
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was added, so validators can end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    pub fn messages(&self, field: &str) -> &[String] {
        self.0.get(field).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_text_field_is_present_not_blank_and_free_of_controls() {
        let mut errors = FieldErrors::new();
        assert_eq!(required_text(Some("fine words"), "a", &mut errors), Some("fine words"));
        for (value, message) in [
            (None, messages::REQUIRED),
            (Some(""), messages::BLANK),
            (Some("a\0b"), messages::NULL_CHARACTER),
            (Some("tab\there"), messages::CONTROL_CHARACTER),
        ] {
            let mut errors = FieldErrors::new();
            assert_eq!(required_text(value, "f", &mut errors), None);
            assert_eq!(errors.messages("f"), [message]);
        }
        assert!(errors.is_empty());
    }
}

/// A required text field of an account body: present, not blank, without NUL (DRF's own rule) or any other
/// control character (an OAuth form parameter cannot carry one, so a password holding one could never be
/// used to sign in). `None`, with the field's message recorded, when it is not.
pub fn required_text<'a>(value: Option<&'a str>, field: &str, errors: &mut FieldErrors) -> Option<&'a str> {
    let message = match value {
        None => messages::REQUIRED,
        Some("") => messages::BLANK,
        Some(text) if text.contains('\0') => messages::NULL_CHARACTER,
        Some(text) if text.chars().any(char::is_control) => messages::CONTROL_CHARACTER,
        Some(text) => return Some(text),
    };
    errors.add(field, message);
    None
}

/// DRF's messages, shared so both servers say the same thing.
pub mod messages {
    pub const REQUIRED: &str = "This field is required.";
    pub const BLANK: &str = "This field may not be blank.";
    pub const NOT_A_STRING: &str = "Not a valid string.";
    /// DRF's `ProhibitNullCharactersValidator`.
    pub const NULL_CHARACTER: &str = "Null characters are not allowed.";
    /// This project's: no field takes other control characters (a description may hold line breaks and tabs).
    pub const CONTROL_CHARACTER: &str = "Control characters are not allowed.";
}

/// The two shapes a 400 can take on the account and item endpoints, for the OpenAPI documents: DRF-shaped
/// field errors, or `{"error": "invalid_request", ...}` when the body is not an object of the right JSON
/// types at all.
#[cfg(feature = "openapi")]
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FieldErrorsOrError {
    Fields(FieldErrors),
    Error(crate::oauth::ErrorBody),
}

/// `{}`: what the password change answers, for the OpenAPI documents.
#[cfg(feature = "openapi")]
#[derive(Serialize, utoipa::ToSchema)]
pub struct Empty {}
